"""The SDK's logger and a log-once helper, so an outage or a bad key is one line, not one per call."""

from __future__ import annotations

import logging

logger = logging.getLogger("llmobserve")
_seen: set[str] = set()


def log_once(key: str, message: str, *args: object, level: int = logging.WARNING, exc_info: bool = False) -> None:
    """Log `message` the first time `key` is seen (until `reset_once(key)`)."""
    if key in _seen:
        return
    _seen.add(key)
    logger.log(level, message, *args, exc_info=exc_info)


def reset_once(key: str) -> None:
    """Allow `key` to be logged again (e.g. after the API came back)."""
    _seen.discard(key)
