"""SDK overhead: plain openai vs llmobserve vs Langfuse's OpenAI wrapper, interleaved in one run.

    python bench/bench_sdk.py [--iters 2000]

A fake OpenAI server (stdlib, its own process) answers chat completions, JSON and SSE. llmobserve
patches the client's `SyncAPIClient.request` (and `Stream.__stream__`), Langfuse `Completions.create`;
the script swaps those attributes between the originals and each SDK's wrappers and takes the modes in
turn, in shuffled order, every iteration. Both SDKs really deliver, in their background threads, to the same local fake server:
llmobserve to `POST /v1/events`, Langfuse (OpenTelemetry over HTTP) to `/api/public/otel/...`, both
answered 200. Prints a markdown table and writes
bench/results/sdk.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODEL = "gpt-4o-mini-2024-07-18"
USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17,
         "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 0}}


def _chat_json() -> bytes:
    return json.dumps({"id": "c1", "object": "chat.completion", "created": 1, "model": MODEL,
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "hello"}}],
                       "usage": USAGE}).encode()


def _chat_sse(include_usage: bool) -> bytes:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
              for w in ("hel", "lo", " there", "!")]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if include_usage:
        chunks.append({**base, "choices": [], "usage": USAGE})
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw or b"{}") if "otel" not in self.path else {}
        if "otel" in self.path:  # Langfuse's OTLP export: accept and ignore
            data, ctype = b"", "application/x-protobuf"
        elif self.path.endswith("/v1/events"):
            data, ctype = json.dumps({"accepted": len(body.get("events", [])), "duplicates": 0,
                                      "rejected": []}).encode(), "application/json"
        elif body.get("stream"):
            data = _chat_sse(bool((body.get("stream_options") or {}).get("include_usage")))
            ctype = "text/event-stream"
        else:
            data, ctype = _chat_json(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _Handler).serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("fake server did not start")


def capture_enqueue_us(n: int = 100_000) -> float:
    """In-process cost of recording one non-streaming answer (build Call, extract usage, enqueue)."""
    from openai.types.chat import ChatCompletion

    from llmobserve._call import CONFIG, Call
    from llmobserve._exporter import Exporter
    from llmobserve._providers import openai as usage

    resp = ChatCompletion.model_validate_json(_chat_json())
    saved = CONFIG.exporter
    exp = Exporter(endpoint="http://127.0.0.1:9", api_key="llmo_x", max_queue_size=n + 1, batch_size=n + 1,
                   flush_interval=3600)
    exp._thread = object()  # sender off: the caller-side cost only
    CONFIG.exporter = exp
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n // 5):
            c = Call("chat", "openai", "gpt-4o-mini", False, None)
            usage.from_response(c, resp)
            c.finish("ok")
        samples.append((time.perf_counter() - t0) / (n // 5) * 1e6)
        exp._queue.clear()
    CONFIG.exporter = saved
    return statistics.median(samples)


def _fake_request(url: str):
    """The client's own `request` with the network cut out: the client's real response processing
    (`_process_response`: `APIResponse.parse`, or a `Stream` over SSE bytes) on a prebuilt answer."""
    import httpx2

    json_body, sse_usage, sse_plain = _chat_json(), _chat_sse(True), _chat_sse(False)

    def request(self, cast_to, options, *, stream=False, stream_cls=None):  # noqa: ANN001, ANN202
        body = options.json_data if isinstance(options.json_data, dict) else {}
        if stream:
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            data, ctype = (sse_usage if usage else sse_plain), "text/event-stream"
        else:
            data, ctype = json_body, "application/json"
        response = httpx2.Response(200, content=data, headers={"content-type": ctype},
                                   request=httpx2.Request("POST", url + options.url))
        return self._process_response(cast_to=cast_to, options=options, response=response, stream=stream,
                                      stream_cls=stream_cls)

    return request


def in_process(url: str, langfuse_create, iters: int = 3000) -> dict:  # noqa: ANN001
    """Time each SDK adds with the network cut out (`_fake_request`), call by call in turn.

    The baseline is then the client's own work only, so the machine's noise, which scales with the
    baseline, is smaller than the end-to-end run's. Each call is timed in the calling thread's CPU
    time (`time.thread_time_ns`): on a machine shared with other programs, wall time mostly measures
    waiting for a core. Every iteration runs each mode once, in shuffled order; "added" is the median
    over iterations of (mode call - plain call), so a slow stretch of the machine hits both sides of
    a pair (blocks of hundreds of calls, as before, left ±80 µs between two identical modes at load 7).
    """
    import openai
    from openai._base_client import SyncAPIClient
    from openai._streaming import Stream
    from openai.resources.chat.completions import completions as mod

    from llmobserve._instrument import TARGETS, _patched, make_method

    fake = _fake_request(url)
    target = next(t for t in TARGETS if (t.module, t.cls, t.method) == ("openai._base_client", "SyncAPIClient",
                                                                        "request"))
    plain_create = mod.Completions.__dict__["create"]
    plain_stream, ours_stream = _patched[(Stream, "__stream__")], Stream.__dict__["__stream__"]
    saved = SyncAPIClient.__dict__["request"]
    modes = {"plain": (plain_create, fake, plain_stream),
             "llmobserve": (plain_create, make_method(target, fake), ours_stream),
             "langfuse": (langfuse_create, fake, plain_stream)}
    client = openai.OpenAI(api_key="sk-bench", base_url=url + "/v1", max_retries=0)
    msgs = [{"role": "user", "content": "hi"}]
    clock = time.thread_time_ns
    out: dict = {}
    try:
        for stream in (False, True):
            times: dict[str, list[float]] = {m: [] for m in modes}
            for i in range(iters + 100):
                order = list(modes)
                random.shuffle(order)
                for m in order:
                    mod.Completions.create, SyncAPIClient.request, Stream.__stream__ = modes[m]
                    t0 = clock()
                    if stream:
                        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=msgs, stream=True):
                            pass
                    else:
                        client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
                    if i >= 100:  # the first 100 warm up
                        times[m].append((clock() - t0) / 1000)
            out["stream" if stream else "non_stream"] = {
                m: {"median_us": statistics.median(v),
                    "added_us": statistics.median(a - b for a, b in zip(v, times["plain"]))}
                for m, v in times.items()
            }
    finally:
        mod.Completions.create, SyncAPIClient.request, Stream.__stream__ = plain_create, saved, ours_stream
    out["iters"] = iters
    return out


def choke_point_us(n: int = 20_000, samples: int = 9) -> dict:
    """The SDK's own code per non-streaming call, the client's work taken out: our `request` method
    around a stand-in for the client's that answers a prebuilt `ChatCompletion`, minus that stand-in
    called bare (best of `samples` runs of `n` calls; the sender thread is kept off and its queue
    emptied between runs, so only the caller's side is timed)."""
    import openai
    from openai._base_client import FinalRequestOptions
    from openai.types.chat import ChatCompletion

    from llmobserve._call import CONFIG
    from llmobserve._exporter import Exporter
    from llmobserve._instrument import TARGETS, make_method

    resp = ChatCompletion.model_validate_json(_chat_json())

    def stand_in(self, cast_to, options, *, stream=False, stream_cls=None):  # noqa: ANN001, ANN202
        return resp

    class Bare(openai.OpenAI):
        request = stand_in

    class Ours(openai.OpenAI):
        request = make_method(TARGETS[0], stand_in)

    saved = CONFIG.exporter
    exp = Exporter(endpoint="http://127.0.0.1:9", api_key="llmo_x", max_queue_size=n + 1, batch_size=n + 1,
                   flush_interval=3600)
    exp._thread = object()  # sender off: the caller-side cost only
    CONFIG.exporter = exp
    options = FinalRequestOptions.construct(method="post", url="/chat/completions",
                                            json_data={"model": "gpt-4o-mini", "messages": []})
    best: dict[str, float] = {}
    try:
        for _ in range(samples):
            for name, cls in (("bare", Bare), ("llmobserve", Ours)):
                client = cls(api_key="sk-bench", base_url="http://127.0.0.1:9/v1", max_retries=0)
                t0 = time.thread_time_ns()
                for _ in range(n):
                    client.request(ChatCompletion, options, stream=False, stream_cls=None)
                us = (time.thread_time_ns() - t0) / n / 1000
                best[name] = min(best.get(name, us), us)
                exp._queue.clear()
    finally:
        CONFIG.exporter = saved
    return {"bare_us": best["bare"], "llmobserve_us": best["llmobserve"],
            "added_us": best["llmobserve"] - best["bare"], "n": n, "samples": samples}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return

    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        _wait_port(port)
        results = run(f"http://127.0.0.1:{port}", args.iters)
    finally:
        server.terminate()
        server.wait()
    report(results)


def run(url: str, iters: int) -> dict:
    os.environ.update(LANGFUSE_PUBLIC_KEY="pk-lf-bench", LANGFUSE_SECRET_KEY="sk-lf-bench",
                      LANGFUSE_HOST=url, LANGFUSE_BASE_URL=url)
    import openai
    from openai.resources.chat.completions import completions as mod

    original = mod.Completions.__dict__["create"]
    import langfuse.openai  # noqa: F401  (patches Completions.create at import)

    langfuse_create = mod.Completions.__dict__["create"]
    mod.Completions.create = original
    import llmobserve
    from openai._base_client import SyncAPIClient
    from openai._streaming import Stream

    from llmobserve._instrument import _patched

    llmobserve.observe(api_key="llmo_bench", endpoint=url, flush_interval=0.5)
    # llmobserve patches the client's request choke point (and the SSE iterator); Langfuse patches
    # `Completions.create`. A mode is the set of the three attributes in force.
    plain_request, plain_stream = _patched[(SyncAPIClient, "request")], _patched[(Stream, "__stream__")]
    ours_request, ours_stream = SyncAPIClient.__dict__["request"], Stream.__dict__["__stream__"]
    modes = {"plain": (original, plain_request, plain_stream),
             "llmobserve": (original, ours_request, ours_stream),
             "langfuse": (langfuse_create, plain_request, plain_stream)}

    def use(mode: str) -> None:
        mod.Completions.create, SyncAPIClient.request, Stream.__stream__ = modes[mode]

    client = openai.OpenAI(api_key="sk-bench", base_url=url + "/v1", max_retries=0)
    msgs = [{"role": "user", "content": "hi"}]

    def once(stream: bool) -> float:
        t0 = time.perf_counter()
        if stream:
            for _ in client.chat.completions.create(model="gpt-4o-mini", messages=msgs, stream=True):
                pass
        else:
            client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
        return (time.perf_counter() - t0) * 1e6

    out: dict = {"load_before": os.getloadavg()[0]}
    for stream in (False, True):
        times: dict[str, list[float]] = {m: [] for m in modes}
        for i in range(iters + 100):
            order = list(modes)
            random.shuffle(order)
            for m in order:
                use(m)
                t = once(stream)
                if i >= 100:  # warm-up
                    times[m].append(t)
        use("plain")
        base = statistics.median(times["plain"])
        out["stream" if stream else "non_stream"] = {
            m: {"median_us": statistics.median(v), "added_us": statistics.median(v) - base,
                "paired_added_us": statistics.median(a - b for a, b in zip(v, times["plain"]))}
            for m, v in times.items()
        }
    use("llmobserve")
    out["in_process"] = in_process(url, langfuse_create)
    out["choke_point"] = choke_point_us()
    out["capture_enqueue_us"] = capture_enqueue_us()
    out["sent_events"] = llmobserve.flush(5) and llmobserve._call.CONFIG.exporter.sent
    llmobserve.shutdown()
    out["load_after"] = os.getloadavg()[0]
    out["machine"] = {"nproc": os.cpu_count(), "python": platform.python_version(), "cpu": platform.processor(),
                      "openai": openai.__version__, "langfuse": _version("langfuse"), "iters": iters}
    return out


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def report(results: dict) -> None:
    lines = ["| call | mode | median µs | added µs (median diff) | added µs (paired) | vs langfuse added |",
             "|---|---|---|---|---|---|"]
    for kind in ("non_stream", "stream"):
        r = results[kind]
        lf = r["langfuse"]["paired_added_us"]
        for mode, v in r.items():
            ratio = f"{v['paired_added_us'] / lf:.2f}×" if mode != "plain" and lf > 0 else ""
            lines.append(f"| {kind} | {mode} | {v['median_us']:.1f} | {v['added_us']:.1f} | "
                         f"{v['paired_added_us']:.1f} | {ratio} |")
    for kind in ("non_stream", "stream"):
        r = results["in_process"][kind]
        lines.append(f"in process {kind}: " + ", ".join(f"{m} +{v['added_us']:.1f} µs" for m, v in r.items()))
    cp = results["choke_point"]
    lines.append(f"choke point (SDK code only): {cp['llmobserve_us']:.2f} - {cp['bare_us']:.2f} = "
                 f"**{cp['added_us']:.2f} µs**")
    lines.append(f"\ncapture + enqueue in-process: **{results['capture_enqueue_us']:.2f} µs**")
    lines.append(f"machine: {results['machine']}")
    print("\n".join(lines))
    path = Path(__file__).resolve().parent / "results" / "sdk.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
