"""``greenai bench --serve``: energy per token of a served model, ML.ENERGY's way.

B worker threads keep B streaming requests in flight against an OpenAI-compatible
server until N have been sent. One tracked run (phase ``inference``) covers the whole
bench; its steady-state window ``serve`` opens when the B-th request receives its first
token and closes when the (N - B)-th request ends, both live, on the clock the run is
measured on (:meth:`greenai.Run.now_s`). The window's tokens are counted afterwards
from the requests' token arrival times (:mod:`greenai.bench.serve_window`), so the
same rule gives the bounds and the count.

Tokens: with the server's usage counts (``stream_options.include_usage``, labelled
``usage``) each request's ``completion_tokens`` are spread over the chunks it streamed;
without them each chunk with output text counts as one token (labelled ``chunks``).

The energy is that of this machine's GPUs (the server's process is not the bench's, so
they are charged whole, rule ``visible-devices``): run the bench next to the server.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greenai.bench.serve_config import ServeConfig
from greenai.bench.serve_prompts import request_prompts
from greenai.bench.serve_requests import Observer, ServeBench, prompt_tokens
from greenai.bench.serve_window import NoSteadyWindow, SteadyWindow, steady_window
from greenai.figures.definitions import j_per_token_or_none

if TYPE_CHECKING:
    from greenai.tracking.run import Run
    from greenai.tracking.window import Window

log = logging.getLogger(__name__)

METHOD = "serve-steady-state"
"""The ``bench_method`` tag of the runs: ML.ENERGY's steady-state window."""


@dataclass
class ServeResult:
    """What ``greenai bench --serve`` measured.

    Attributes:
        bench_id: Id of the bench (tag ``bench_id``).
        config: The configuration.
        run_id: The tracked run's id.
        window: The steady-state window and its tokens; None without one.
        no_window: Why there is no window, in words (None with one).
        gpu_energy_j: The GPUs' energy over the window, J (None: none measured, or
            below the counters' resolution).
        energy_j: IT energy of the window (every device charged), J.
        gpu_ids: The GPUs measured.
        gpu_method: How their energy was obtained (counter, power, mixed).
        gpu_processes: Compute processes NVML listed on them at the end (None: unknown).
        tokens_method: ``usage``, ``chunks`` or ``usage+chunks`` (some requests each way).
        ok: Requests that completed.
        failures: Errors of the requests that failed (the first few).
        failed: Requests that failed.
        tokens_input: Prompt tokens of every request (from usage; 0 without it).
        tokens_output: Output tokens of every request.
        duration_s: The whole bench, s.
    """

    bench_id: str
    config: ServeConfig
    run_id: str
    window: SteadyWindow | None
    no_window: str | None
    gpu_energy_j: float | None
    energy_j: float | None
    gpu_ids: list[str]
    gpu_method: str
    gpu_processes: int | None
    tokens_method: str
    ok: int
    failed: int
    failures: list[str]
    tokens_input: int
    tokens_output: int
    duration_s: float

    @property
    def j_per_token(self) -> float | None:
        """The GPUs' window energy per token streamed in the window, J."""
        tokens = self.window.tokens if self.window else None
        return j_per_token_or_none(self.gpu_energy_j, tokens)

    def to_dict(self) -> dict[str, Any]:
        """Plain values in base units (``--format json``, ``--json FILE``)."""
        window = self.window
        return {
            "bench_id": self.bench_id,
            "run_id": self.run_id,
            "method": METHOD,
            "url": self.config.url_base,
            "model": self.config.model,
            "technique": self.config.technique,
            "concurrency": self.config.concurrency,
            "requests": self.config.requests,
            "max_tokens": self.config.max_tokens,
            "j_per_token": self.j_per_token,
            "tokens_per_s": window.tokens_per_s if window else None,
            "window_s": window.duration_s if window else None,
            "window_tokens": window.tokens if window else None,
            "no_window": self.no_window,
            "gpu_energy_j": self.gpu_energy_j,
            "energy_j": self.energy_j,
            "gpu_ids": list(self.gpu_ids),
            "gpu_method": self.gpu_method,
            "gpu_processes": self.gpu_processes,
            "tokens_method": self.tokens_method,
            "ok": self.ok,
            "failed": self.failed,
            "failures": list(self.failures),
            "tokens_input": self.tokens_input,
            "tokens_output": self.tokens_output,
            "duration_s": self.duration_s,
        }


def select_gpus(gpus: str | None, environ: dict[str, str] | None = None) -> None:
    """Measure only ``gpus``: sets ``CUDA_VISIBLE_DEVICES`` of this process, which the
    measurement reads when it first opens (a process measuring already keeps its GPUs;
    :func:`run_serve_bench` then warns)."""
    if gpus is not None:
        env = os.environ if environ is None else environ
        env["CUDA_VISIBLE_DEVICES"] = ",".join(p.strip() for p in gpus.split(","))


def _count(bench: ServeBench, run: Run) -> tuple[SteadyWindow | None, str | None, str]:
    """The window by the pure rule; its tokens and the run's go on the ledger records."""
    traces, method = bench.traces()
    try:
        window: SteadyWindow | None = steady_window(traces, bench.config.concurrency)
        reason = None
    except NoSteadyWindow as exc:
        window, reason = None, exc.reason
    recorded = bench.window
    if recorded is not None:
        with run.lock:  # the window closed live; its tokens are known only now
            recorded.tokens_input = 0
            recorded.tokens_output = window.tokens if window else 0
            # opened and closed at one instant (a tie): not a steady state to compare
            recorded.steady_state = window is not None
    prompts = sum(prompt_tokens(r.usage) for r in bench.requests)
    run.add_tokens(input=prompts, output=sum(t.tokens for t in traces))
    run.add_samples(sum(1 for r in bench.requests if r.error is None))
    return window, reason, method


def _gpus(run: Run, window: Window | None) -> tuple[float | None, float | None, list[str], str]:
    """The window's GPU energy and IT energy, the GPUs measured and their method."""
    from greenai.tracking.accounting import merge_methods

    gpu_ids = run.hub.gpu_ids() if run.hub is not None else []
    if window is None:
        return None, None, gpu_ids, "none"
    charges = [c for c in window.charges() if c.kind == "gpu" and c.share > 0]
    energy_j = window.energy_j()
    gpu_j = sum(c.energy_j for c in charges) if charges and energy_j is not None else None
    return gpu_j, energy_j, gpu_ids, merge_methods(c.method for c in charges)


def _gpu_processes(run: Run) -> int | None:
    hub = run.hub
    if hub is None:
        return None
    try:
        processes = hub.compute_processes()
    except Exception:  # never harm the bench
        return None
    return None if processes is None else len(processes)


def run_serve_bench(
    config: ServeConfig,
    *,
    observer: Observer | None = None,
) -> ServeResult:
    """Measure energy per token of the server ``config`` names and record one run.

    Args:
        config: The server, the batch and the prompts.
        observer: Called after every token and request end (progress displays).

    Returns:
        The window, its energy and tokens, and the requests' outcome.

    Raises:
        ConfigError: An invalid setting, an unreadable prompt file, or no server at the
            URL (checked before the run starts).
    """
    import greenai
    from greenai.bench.serve_client import served_models

    listed = served_models(config.url_base, timeout_s=min(config.timeout_s, 10.0))
    if listed is not None and config.model not in listed:
        log.warning("the server lists %s, not %s", ", ".join(listed) or "no model", config.model)
    prompts = request_prompts(config.prompts, config.requests, config.seed)
    select_gpus(config.gpus)
    bench_id = uuid.uuid4().hex
    with greenai.track(**_run_keywords(config, bench_id)) as run:
        bench = ServeBench(config, prompts, run, observer=observer)
        bench.run_all()
        window, reason, method = _count(bench, run)
        processes = _gpu_processes(run)
    gpu_j, energy_j, gpu_ids, gpu_method = _gpus(run, bench.window)
    if config.gpus is not None and len(gpu_ids) != len(config.gpus.split(",")):
        log.warning("measured GPUs %s, not --gpus %s", ", ".join(gpu_ids) or "none", config.gpus)
    errors = [r.error for r in bench.requests if r.error is not None]
    return ServeResult(
        bench_id, config, run.id, window, reason, gpu_j, energy_j, gpu_ids, gpu_method,
        processes, method, len(bench.requests) - len(errors), len(errors), errors[:5],
        run.tokens_input, run.tokens_output, run.duration_s,
    )  # fmt: skip


def _run_keywords(config: ServeConfig, bench_id: str) -> dict[str, Any]:
    """``greenai.track`` keywords of the bench's run."""
    cell = f"serve/{config.model}/{config.technique}/b{config.concurrency}"
    tags = {
        "bench_id": bench_id,
        "repeat": "0",
        "cell": cell,
        "bench_method": METHOD,
        "concurrency": str(config.concurrency),
        "requests": str(config.requests),
        "max_tokens": str(config.max_tokens),
    }
    settings = {"db_url": config.db_url, "country": config.country}
    return {
        "project": config.project,
        "name": f"bench serve {config.model} {config.technique} b{config.concurrency}",
        "tags": tags,
        "model": config.model,
        "base_model": config.base_model or config.model,
        "technique": config.technique,
        "phase": "inference",
        "batch_size": config.concurrency,
        **{k: v for k, v in settings.items() if v},
    }
