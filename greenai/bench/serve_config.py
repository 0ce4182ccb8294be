"""What ``greenai bench --serve`` measures: the server, the batch and the prompts.

Every value is checked in ``__post_init__``; a bad one raises :class:`greenai.ConfigError`
naming the key, before any request is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from greenai.errors import ConfigError

_GPU = re.compile(r"^(\d+|GPU-[0-9A-Za-z-]+|MIG-[0-9A-Za-z/-]+)$")


def _positive(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(key, value, "a whole number > 0")


def _text(key: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, "a non-empty string")


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """One steady-state measurement of a served model.

    Attributes:
        url: The server's OpenAI-compatible API base URL (``http://127.0.0.1:8000/v1``).
        model: Model name sent in each request and recorded on the run.
        concurrency: B, requests in flight at once (the batch).
        requests: N, requests in all (N > B).
        max_tokens: Output tokens asked for per request.
        prompts: A prompt file (``.jsonl``: ``{"prompt": ...}`` or ``{"messages": [...]}``
            per line; else one prompt per line); None: prompts cut from the built-in text.
        technique: Technique of the served model (``baseline``, ``fp8``, ``awq``, ...).
        base_model: The model the technique was applied to (default: ``model``).
        gpus: The GPUs to measure (``CUDA_VISIBLE_DEVICES`` style: indices or UUIDs,
            comma-separated); None: every GPU this process sees.
        usage: Ask for the server's usage counts (``stream_options.include_usage``).
        timeout_s: Socket timeout of each request, s.
        seed: Seed of the prompt order.
        project: Project of the recorded run.
        db_url: Ledger URL (None: the configured or default ledger).
        country: ISO 3166-1 alpha-3 country of the run's grid (None: configured).
    """

    url: str
    model: str
    concurrency: int = 8
    requests: int = 64
    max_tokens: int = 256
    prompts: str | None = None
    technique: str = "baseline"
    base_model: str | None = None
    gpus: str | None = None
    usage: bool = True
    timeout_s: float = 300.0
    seed: int = 0
    project: str = "greenai-bench"
    db_url: str | None = None
    country: str | None = None

    def __post_init__(self) -> None:
        from greenai.bench.serve_client import check_url

        check_url(self.url)
        for key in ("model", "technique", "project"):
            _text(key, getattr(self, key))
        for key in ("concurrency", "requests", "max_tokens"):
            _positive(key, getattr(self, key))
        if self.requests <= self.concurrency:
            raise ConfigError(
                "requests",
                self.requests,
                f"more requests than the concurrency ({self.concurrency}): the window runs "
                "from the batch being full to N - B requests done (2 x B or more is better)",
            )
        for key in ("prompts", "base_model", "db_url", "country"):
            value = getattr(self, key)
            if value is not None:
                _text(key, value)
        if self.gpus is not None:
            parts = [p.strip() for p in self.gpus.split(",")]
            if not parts or not all(_GPU.match(p) for p in parts):
                raise ConfigError("gpus", self.gpus, "GPU indices or UUIDs, comma-separated")
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, int | float):
            raise ConfigError("timeout_s", self.timeout_s, "a number of seconds > 0")
        if not self.timeout_s > 0:
            raise ConfigError("timeout_s", self.timeout_s, "a number of seconds > 0")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError("seed", self.seed, "a whole number >= 0")

    @property
    def url_base(self) -> str:
        """The URL without a trailing slash."""
        return self.url.rstrip("/")
