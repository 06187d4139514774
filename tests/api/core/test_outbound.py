"""Alert targets: loopback, private and link-local addresses are refused, by IP or by name."""

from __future__ import annotations

import pytest

from api.outbound import RefusedTarget, check_url


def resolver(mapping: dict[str, list[str]]):
    return lambda host, port: mapping[host]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "http://[::1]/hook", "http://10.1.2.3/", "https://192.168.0.10/x",
    "http://172.16.5.5/", "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/",
])
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget, match="LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS"):
        check_url(url, allow_private=False, resolve=resolver({}))


def test_a_name_is_refused_when_any_of_its_addresses_is_private() -> None:
    names = resolver({"hooks.example.com": ["93.184.215.14", "10.0.0.7"], "ok.example.com": ["93.184.215.14"]})
    with pytest.raises(RefusedTarget, match="10.0.0.7"):
        check_url("https://hooks.example.com/x", allow_private=False, resolve=names)
    check_url("https://ok.example.com/x", allow_private=False, resolve=names)


def test_localhost_by_name_is_refused_with_the_real_resolver() -> None:
    with pytest.raises(RefusedTarget, match="loopback"):
        check_url("http://localhost:9999/", allow_private=False)


def test_allow_private_lets_local_targets_through_but_not_bad_urls() -> None:
    check_url("http://127.0.0.1:9/hook", allow_private=True)
    for bad, reason in (("ftp://example.com/", "http"), ("http:///nohost", "host"),
                        ("http://user:pw@example.com/", "password")):
        with pytest.raises(RefusedTarget, match=reason):
            check_url(bad, allow_private=True)
