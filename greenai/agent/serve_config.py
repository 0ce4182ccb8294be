"""Serving engines the agent reads, as configured: ``ENGINE=URL[,key=value...]``.

One engine per ``--serve`` option (or per word of ``GREENAI_AGENT_SERVE``, separated by
spaces)::

    vllm=http://127.0.0.1:8000/metrics,gpus=0,1,deployment=chat-prod,technique=int8

Keys after the URL:

- ``gpus``: GPU indices (NVML order, as ``nvidia-smi`` numbers them) or UUIDs
  (``GPU-...``), separated by commas; without it the GPUs are discovered from the
  processes listening on the URL's port (see :mod:`greenai.agent.engine_processes`);
- ``deployment``: the deployment's name (default: ``ENGINE@HOST:PORT``);
- ``technique``: the serving technique (``int8``, ``fp8``, ``speculative``...), stored
  with the ledger's serving runs;
- ``model``: the model's name for engines that label none (TGI, older vLLM).

Mistakes are a :class:`~greenai.errors.ConfigError` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from greenai.agent.engines import ENGINES
from greenai.errors import ConfigError

KEYS = ("gpus", "deployment", "technique", "model")


@dataclass(frozen=True)
class ServeTarget:
    """One serving engine to read.

    Attributes:
        engine: ``vllm``, ``sglang`` or ``tgi``.
        url: Its Prometheus metrics URL.
        gpus: GPU indices or UUIDs it uses, or None to discover them.
        deployment: Its deployment name.
        technique: Serving technique, or None.
        model: Model name of series without a ``model_name`` label, or None.
    """

    engine: str
    url: str
    gpus: tuple[str, ...] | None = None
    deployment: str = ""
    technique: str | None = None
    model: str | None = None

    @property
    def port(self) -> int | None:
        """The URL's TCP port (80/443 by scheme when not written)."""
        parts = urlsplit(self.url)
        try:
            port = parts.port
        except ValueError:
            return None
        return port or {"http": 80, "https": 443}.get(parts.scheme)

    @property
    def default_model(self) -> str:
        """The model of unlabelled series: the configured one, else ``unknown``."""
        return self.model or "unknown"


def parse_serve(spec: str) -> ServeTarget:
    """A :class:`ServeTarget` from ``ENGINE=URL[,key=value...]``.

    Words without ``=`` after ``gpus=`` are more GPUs (``gpus=0,1``).

    Raises:
        ConfigError: Unknown engine or key, a URL that is not http(s), an empty value.
    """
    head, _, rest = spec.strip().partition(",")
    engine, sep, url = head.partition("=")
    engine = engine.strip().lower()
    if not sep or engine not in ENGINES:
        hint = " (Ollama has no metrics endpoint)" if engine == "ollama" else ""
        raise ConfigError("serve", spec, f"ENGINE=URL with ENGINE one of {', '.join(ENGINES)}"
                          + hint)  # fmt: skip
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("serve", spec, "a metrics URL such as http://127.0.0.1:8000/metrics")
    values = _options(spec, rest)
    gpus = tuple(values.pop("gpus").split(",")) if "gpus" in values else None
    deployment = values.get("deployment") or f"{engine}@{parts.hostname}:{parts.port or ''}"
    target = ServeTarget(
        engine, url, gpus, deployment.rstrip(":"), values.get("technique"), values.get("model")
    )
    if target.port is None:
        raise ConfigError("serve", spec, "a URL with a valid port")
    return target


def _options(spec: str, rest: str) -> dict[str, str]:
    values: dict[str, str] = {}
    last = None
    for word in (w.strip() for w in rest.split(",") if rest):
        key, sep, value = word.partition("=")
        if not sep and last == "gpus" and word:
            values["gpus"] += "," + word
            continue
        key = key.strip()
        if key not in KEYS:
            raise ConfigError("serve", spec, f"keys among {', '.join(KEYS)} after the URL")
        if not value.strip() or any(c.isspace() for c in value.strip()):
            raise ConfigError(f"serve {key}", value, "a value without spaces")
        values[key], last = value.strip(), key
    return values


def check_targets(targets: tuple[ServeTarget, ...]) -> None:
    """Refuses two engines with the same deployment name.

    Raises:
        ConfigError: A deployment name given twice.
    """
    seen: set[tuple[str, str]] = set()
    for target in targets:
        key = (target.engine, target.deployment)
        if key in seen:
            raise ConfigError("serve deployment", target.deployment, "one name per engine")
        seen.add(key)
