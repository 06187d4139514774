"""The public surface is exactly what `llmobserve/__init__.py` exports, and importing patches nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import llmobserve


def test_all_is_exactly_the_public_names():
    # `analysis` is the optional notebook client (the `analysis` extra): a submodule, present once imported
    public = {name for name in dir(llmobserve) if not name.startswith("_")} - {"annotations", "analysis"}
    assert set(llmobserve.__all__) - {"__version__"} == public
    assert llmobserve.__all__ == sorted(llmobserve.__all__)
    for name in llmobserve.__all__:
        assert getattr(llmobserve, name) is not None


def _run(code: str, **env: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_patches_nothing_and_observe_does_not_import_providers():
    code = (
        "import sys, llmobserve\n"
        "assert 'openai' not in sys.modules and 'anthropic' not in sys.modules\n"
        "llmobserve.observe(api_key='llmo_x', endpoint='http://127.0.0.1:9')\n"
        "assert 'openai' not in sys.modules and 'anthropic' not in sys.modules\n"
        "import openai\n"
        "openai.OpenAI(api_key='k').chat.completions\n"
        "from llmobserve._instrument import patched_methods\n"
        "print(len(patched_methods()))\n"
    )
    assert int(_run(code)) >= 4


def test_env_variables_configure_observe():
    code = (
        "import llmobserve\n"
        "from llmobserve._call import CONFIG\n"
        "llmobserve.observe()\n"
        "e = CONFIG.exporter\n"
        "print(e._host, e._port, e._path, e._headers['Authorization'])\n"
    )
    out = _run(code, LLMOBSERVE_API_KEY="llmo_env", LLMOBSERVE_ENDPOINT="http://example.test:9999/base")
    assert out == "example.test 9999 /base/v1/events Bearer llmo_env"
    default = _run(code.replace("observe()", "observe(api_key='llmo_a')"), LLMOBSERVE_ENDPOINT="")
    assert default.startswith("localhost 8000 /v1/events")


def test_budget_enforcement_is_public_and_opt_in():
    import inspect
    from decimal import Decimal

    param = inspect.signature(llmobserve.observe).parameters["enforce_budgets"]
    assert param.default is False and param.kind is inspect.Parameter.KEYWORD_ONLY
    exc = llmobserve.BudgetExceeded("bud_1", "acme", Decimal("12.5"), Decimal("10"))
    assert isinstance(exc, Exception)
    assert (exc.budget_id, exc.name, exc.spent_usd, exc.amount_usd) == ("bud_1", "acme", Decimal("12.5"), Decimal("10"))
