"""The demo's month of history: a product's LLM traffic, shaped (weekday rhythm, growth, a dozen
customers, OpenAI and Anthropic models, runs, streams, errors, cached tokens, an unpriced fine-tune)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

@dataclass(frozen=True)
class Model:
    provider: str
    model: str
    operation: str
    median_in: int
    median_out: int
    ms_per_token: float
    stream_share: float


MODELS = {
    "mini": Model("openai", "gpt-4o-mini-2024-07-18", "chat", 900, 160, 7, 0.3),
    "gpt41": Model("openai", "gpt-4.1-2025-04-14", "chat", 2200, 380, 14, 0.5),
    "gpt41-responses": Model("openai", "gpt-4.1-2025-04-14", "responses", 1800, 300, 14, 0.4),
    "embed": Model("openai", "text-embedding-3-small", "embeddings", 350, 0, 0, 0.0),
    "haiku": Model("anthropic", "claude-3-5-haiku-20241022", "messages", 1400, 260, 9, 0.4),
    "sonnet": Model("anthropic", "claude-sonnet-4-20250514", "messages", 3200, 650, 18, 0.6),
    "fine-tune": Model("openai", "ft:acme-support-7b:acme::demo1", "chat", 700, 120, 6, 0.0),  # no known price
}
RUN_SHAPES = [  # (run name or None for a single call, weight, the calls it makes)
    ("summarise-ticket", 24, ("embed", "haiku")),
    ("draft-reply", 16, ("mini", "sonnet")),
    ("classify-intent", 20, ("mini",)),
    ("search-rerank", 12, ("embed", "embed", "gpt41")),
    ("nightly-digest", 2, ("sonnet", "sonnet", "sonnet", "gpt41-responses")),
    ("support-bot", 5, ("fine-tune", "fine-tune")),
    (None, 12, ("mini",)), (None, 5, ("gpt41",)), (None, 4, ("gpt41-responses",)), (None, 6, ("haiku",)),
    (None, 3, ("sonnet",)),
]
CUSTOMERS = {"acme-corp": 30, "globex": 18, "initech": 12, "umbrella": 9, "hooli": 7, "stark-industries": 6,
             "wayne-enterprises": 5, "wonka": 4, "cyberdyne": 3, "soylent": 2, "tyrell": 2, "aperture": 1.5}
NEWCOMER = "pied-piper"  # signs up two thirds into the month and grows fast
HOUR_WEIGHTS = [2, 1.5, 1, 1, 1, 1.5, 2, 3, 5, 7, 8, 9, 9, 10, 10, 9, 9, 8, 7, 6, 5, 4, 3, 2.5]  # UTC
ERRORS = [(429, "RateLimitError", 60), (500, "InternalServerError", 25), (400, "BadRequestError", 15)]


class History:
    """Backdated events between `start` and `end`, shaped like a growing product's traffic."""

    def __init__(self, start: datetime, end: datetime, days: int, rng: random.Random) -> None:
        self.start, self.end, self.rng = start, end, rng
        self.origin = end - timedelta(days=days)  # growth and the newcomer are placed within the full month
        self.days = days
        self.incident_day = (self.origin + timedelta(days=days * 2 // 3)).date()  # Anthropic overloaded
        self.sdk_version = _sdk_version()

    def _weight(self, hour: datetime) -> float:
        progress = (hour - self.origin) / (self.end - self.origin)
        weekday = {5: 0.45, 6: 0.35}.get(hour.weekday(), 1.0)
        daily_noise = random.Random(hour.date().toordinal()).lognormvariate(0, 0.12)
        return (1 + 0.9 * progress) * weekday * HOUR_WEIGHTS[hour.hour] * daily_noise

    def events(self, target: int) -> list[dict[str, Any]]:
        hours = []
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        while hour < self.end:
            hours.append(hour)
            hour += timedelta(hours=1)
        weights = [self._weight(h) for h in hours]
        scale = target / sum(weights)
        out: list[dict[str, Any]] = []
        for hour, weight in zip(hours, weights):
            quota = weight * scale
            count = int(quota) + (self.rng.random() < quota - int(quota))
            while count > 0:
                begin = hour + timedelta(seconds=self.rng.uniform(0, 3600))
                run = self._run(max(begin, self.start))
                out += [e for e in run if e["timestamp"] < self.end.isoformat()]
                count -= len(run)
        return out

    def _customer(self, when: datetime) -> str:
        progress = (when - self.origin) / (self.end - self.origin)
        names, weights = list(CUSTOMERS), list(CUSTOMERS.values())
        if progress > 0.66:
            names.append(NEWCOMER)
            weights.append(40 * (progress - 0.66))
        return self.rng.choices(names, weights)[0]

    def _run(self, begin: datetime) -> list[dict[str, Any]]:
        name, _, steps = self.rng.choices(RUN_SHAPES, [w for _, w, _ in RUN_SHAPES])[0]
        customer, run_id = self._customer(begin), str(uuid.uuid4())
        env = "staging" if self.rng.random() < 0.05 else "production"
        events, at = [], begin
        for step in steps:
            event = self._call(MODELS[step], at)
            event.update(customer_id=customer, tags={"env": env, "feature": name or "chat"})
            if name:
                event.update(run_id=run_id, run_name=name)
            events.append(event)
            at += timedelta(milliseconds=event["latency_ms"] + self.rng.uniform(5, 400))
        return events

    def _call(self, m: Model, at: datetime) -> dict[str, Any]:
        rng = self.rng
        inp = max(8, int(m.median_in * rng.lognormvariate(0, 0.6)))
        out = int(m.median_out * rng.lognormvariate(0, 0.5)) if m.median_out else 0
        cached = write = 0
        if m.provider == "openai" and inp >= 1024 and rng.random() < 0.5:
            cached = int(inp * rng.uniform(0.3, 0.9)) // 128 * 128
        elif m.provider == "anthropic" and rng.random() < 0.55:
            cached = int(inp * rng.uniform(0.5, 0.9))
        elif m.provider == "anthropic" and rng.random() < 0.15:
            write = int(inp * 0.6)
        stream = rng.random() < m.stream_share
        ttft = 180 + 400 * rng.lognormvariate(0, 0.4) if m.median_out else None
        latency = (ttft or 0) + out * m.ms_per_token * rng.uniform(0.8, 1.3) if m.median_out else \
            rng.uniform(60, 250)
        event = {"id": str(uuid.uuid4()), "timestamp": at.isoformat(), "provider": m.provider, "model": m.model,
                 "operation": m.operation, "input_tokens": inp, "cached_input_tokens": cached,
                 "cache_write_tokens": write, "output_tokens": out, "reasoning_tokens": 0,
                 "latency_ms": round(latency, 1), "time_to_first_token_ms": round(ttft, 1) if stream else None,
                 "stream": stream, "status": "ok",
                 "service_tier": "standard" if m.provider == "anthropic" else "default",
                 "sdk_version": self.sdk_version}
        incident = m.provider == "anthropic" and at.date() == self.incident_day
        if rng.random() < (0.18 if incident else 0.012):
            status, kind = (529, "OverloadedError") if incident else \
                rng.choices([(s, k) for s, k, _ in ERRORS], [w for *_, w in ERRORS])[0]
            event.update(status="error", http_status=status, error_type=kind, input_tokens=0, output_tokens=0,
                         cached_input_tokens=0, cache_write_tokens=0, time_to_first_token_ms=None,
                         latency_ms=round(rng.uniform(40, 900), 1))
        elif stream and rng.random() < 0.01:  # the user's code stopped reading a stream half-way
            event.update(status="incomplete", output_tokens=out // 3 if m.provider == "anthropic" else 0)
        return event


def _sdk_version() -> str:
    from llmobserve import __version__

    return __version__
