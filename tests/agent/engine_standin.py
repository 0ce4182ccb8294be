"""A stand-in for a serving engine's /metrics endpoint (vLLM, SGLang, TGI).

The engines themselves need a GPU and a model, which the tests do not have, so this
serves their metrics in their own text format, as their documentation shows it: the
same metric names, ``# HELP``/``# TYPE`` lines and labels (vLLM: ``model_name`` and,
since its V1 engine, ``engine``; older versions no ``engine``; TGI: histograms with
buckets, ``_sum`` and ``_count`` and no labels). The test sets the counts; the agent
reads them over real HTTP, from a real socket of this process.

Run as a module it serves until killed and prints ``listening PORT`` on stdout
(``python -m tests.agent.engine_standin vllm MODEL PROMPT GENERATION``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CREATED_S = 1_780_000_000.0
TGI_LENGTH_BUCKETS = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)
TGI_DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Series:
    """One labelled pair of token counters (vLLM, SGLang).

    Attributes:
        model: ``model_name``, or None for a series without it.
        prompt: Prompt tokens so far.
        generation: Generated tokens so far.
        labels: Other labels (``engine``, ``tp_rank``), in the engine's order.
    """

    model: str | None
    prompt: float
    generation: float
    labels: tuple[tuple[str, str], ...] = ()

    def label_text(self) -> str:
        pairs = [*self.labels, *((("model_name", self.model),) if self.model else ())]
        return "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}" if pairs else ""


def counters_text(prefix: str, series: Sequence[Series]) -> str:
    """vLLM's (``vllm``) or SGLang's (``sglang``) token counters, as prometheus_client
    writes them (the engines use it): a counter and its ``_created`` gauge."""
    lines = []
    for name, attr, text in (
        ("prompt_tokens", "prompt", "Number of prefill tokens processed."),
        ("generation_tokens", "generation", "Number of generation tokens processed."),
    ):
        lines += [f"# HELP {prefix}:{name}_total {text}", f"# TYPE {prefix}:{name}_total counter"]
        lines += [f"{prefix}:{name}_total{s.label_text()} {float(getattr(s, attr))!r}"
                  for s in series]  # fmt: skip
        lines += [f"# HELP {prefix}:{name}_created {text}",
                  f"# TYPE {prefix}:{name}_created gauge"]  # fmt: skip
        lines += [f"{prefix}:{name}_created{s.label_text()} {CREATED_S!r}" for s in series]
    lines += [
        f"# HELP {prefix}:num_requests_running Number of requests currently running.",
        f"# TYPE {prefix}:num_requests_running gauge",
        f"{prefix}:num_requests_running{series[0].label_text() if series else ''} 1.0",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Served:
    """Tokens an engine core served at one instant of the shared clock.

    Attributes:
        at_s: When, on the clock the fake GPUs run on, s.
        model: ``model_name``.
        prompt: Prompt tokens.
        generation: Generated tokens.
        engine: The ``engine`` label (vLLM's engine core).
    """

    at_s: float
    model: str
    prompt: int
    generation: int
    engine: str = "0"


class ServedTokens:
    """An engine's counters on a clock shared with the fake GPUs: at each scrape, the sums
    of what was served up to the clock's present (vLLM's and SGLang's counters grow as
    tokens are processed).

    Args:
        clock: The shared clock (the fake NVML library's ``now``), s.
        served: What is served when.
    """

    def __init__(self, clock: Callable[[], float], served: Sequence[Served]) -> None:
        self.clock = clock
        self.served = list(served)

    def series(self) -> list[Series]:
        """The counters now, one series per model and engine core."""
        now_s = self.clock()
        sums: dict[tuple[str, str], list[float]] = {}
        for s in self.served:
            pair = sums.setdefault((s.model, s.engine), [0.0, 0.0])
            if s.at_s <= now_s:
                pair[0] += s.prompt
                pair[1] += s.generation
        return [Series(model, p[0], p[1], (("engine", engine),))
                for (model, engine), p in sorted(sums.items())]  # fmt: skip

    def tokens(self, model: str, after_s: float, until_s: float) -> tuple[int, int]:
        """Prompt and generated tokens of ``model`` served in ``(after_s, until_s]``."""
        inside = [s for s in self.served if s.model == model and after_s < s.at_s <= until_s]
        return sum(s.prompt for s in inside), sum(s.generation for s in inside)


@dataclass(frozen=True)
class Request:
    """A request TGI completed: its input and generated tokens and its duration, s."""

    input_tokens: int
    generated_tokens: int
    duration_s: float


def _histogram(name: str, text: str, values: Sequence[float], buckets: Sequence[float]) -> str:
    lines = [f"# HELP {name} {text}", f"# TYPE {name} histogram"]
    for bound in buckets:
        lines.append(f'{name}_bucket{{le="{bound}"}} {sum(v <= bound for v in values)}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {len(values)}')
    lines.append(f"{name}_sum {sum(values)!r}")
    lines.append(f"{name}_count {len(values)}")
    return "\n".join(lines)


def tgi_text(requests: Sequence[Request]) -> str:
    """TGI's histograms (Rust's metrics exporter: no ``_created``, no labels)."""
    parts = [
        "# HELP tgi_request_count Total number of requests\n# TYPE tgi_request_count counter\n"
        f"tgi_request_count {len(requests)}",
        _histogram("tgi_request_input_length", "Input tokens per request",
                   [float(r.input_tokens) for r in requests], TGI_LENGTH_BUCKETS),
        _histogram("tgi_request_generated_tokens", "Generated tokens per request",
                   [float(r.generated_tokens) for r in requests], TGI_LENGTH_BUCKETS),
        _histogram("tgi_request_duration", "Request duration",
                   [r.duration_s for r in requests], TGI_DURATION_BUCKETS),
    ]  # fmt: skip
    return "\n".join(parts) + "\n"


class EngineStandin:
    """An HTTP server on a loopback port answering ``/metrics`` with ``text()``.

    Args:
        text: Returns the metrics text (called at each request).
    """

    def __init__(self, text: Callable[[], str]) -> None:
        self.text = text
        self.requests = 0
        self.fail = False
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                standin.requests += 1
                if standin.fail or self.path != "/metrics":
                    self.send_error(503 if standin.fail else 404)
                    return
                body = standin.text().encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The port listened on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The metrics URL."""
        return f"http://127.0.0.1:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def main(argv: Sequence[str]) -> None:
    """Serve fixed vLLM or SGLang counters until killed: ``ENGINE MODEL PROMPT GENERATION``."""
    engine, model, prompt, generation = argv
    series = [Series(model, float(prompt), float(generation), (("engine", "0"),))]
    standin = EngineStandin(lambda: counters_text(engine, series))
    print(f"listening {standin.port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
