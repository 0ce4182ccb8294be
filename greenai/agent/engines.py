"""Serving engines' token counters: metric names per engine, read from their /metrics text.

Each engine exposes cumulative token counts in the Prometheus text format:

- **vLLM**: counters ``vllm:prompt_tokens_total`` and ``vllm:generation_tokens_total``,
  labelled ``model_name`` and, since the V1 engine, ``engine`` (one per engine core of a
  data-parallel deployment: their tokens are different requests, so they are summed).
  Series that differ only by ``tp_rank`` or ``pp_rank`` count the same tokens seen by
  each rank of one model: the largest is taken, never their sum.
- **SGLang** (started with ``--enable-metrics``): counters ``sglang:prompt_tokens_total``
  and ``sglang:generation_tokens_total``, labelled ``model_name`` (the same rank rule).
- **TGI**: the ``_sum`` of the histograms ``tgi_request_input_length`` and
  ``tgi_request_generated_tokens``. They grow only when a request completes, all its
  tokens at once; ``tgi_request_duration`` (``_sum``/``_count``, s) gives the mean
  request duration that decides whether an interval is long enough (see
  :mod:`greenai.agent.serving`). TGI serves one model and labels none.

Ollama has no metrics endpoint and is not an engine here.

The text is parsed with prometheus_client's parser. It names a counter's *family*
without ``_total`` (``vllm:prompt_tokens``) but keeps the sample's full name, and an
untyped metric keeps ``_total`` in both: samples are matched by their own name, so a
missing or different ``# TYPE`` line changes nothing. Pure functions; no I/O here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

RANK_LABELS = frozenset({"tp_rank", "pp_rank"})
"""Labels whose series count the same tokens (one per rank of one model)."""
MODEL_LABEL = "model_name"


@dataclass(frozen=True)
class Engine:
    """Where an engine keeps its token counts.

    Attributes:
        name: ``vllm``, ``sglang`` or ``tgi``.
        input_sample: Sample name of the cumulative input (prompt) tokens.
        output_sample: Sample name of the cumulative output (generated) tokens.
        at_completion: Whether tokens are counted when a request completes (TGI), not
            as they are processed.
        duration_sum_sample: Sample of the cumulative request duration, s (TGI).
        duration_count_sample: Sample of the completed request count (TGI).
    """

    name: str
    input_sample: str
    output_sample: str
    at_completion: bool = False
    duration_sum_sample: str | None = None
    duration_count_sample: str | None = None


ENGINES: Mapping[str, Engine] = {
    e.name: e
    for e in (
        Engine("vllm", "vllm:prompt_tokens_total", "vllm:generation_tokens_total"),
        Engine("sglang", "sglang:prompt_tokens_total", "sglang:generation_tokens_total"),
        Engine(
            "tgi",
            "tgi_request_input_length_sum",
            "tgi_request_generated_tokens_sum",
            at_completion=True,
            duration_sum_sample="tgi_request_duration_sum",
            duration_count_sample="tgi_request_duration_count",
        ),
    )
}
"""The engines the agent reads, by name."""


@dataclass(frozen=True)
class EngineReading:
    """One scrape of an engine: cumulative counts as the engine reports them.

    Attributes:
        tokens: Model -> (input tokens, output tokens), cumulative.
        request_duration_s: Cumulative duration of completed requests, s (TGI), else None.
        requests: Completed requests (TGI), else None.
    """

    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)
    request_duration_s: float | None = None
    requests: float | None = None


def parse_metrics(engine: Engine, text: str, default_model: str) -> EngineReading:
    """The token counts in an engine's /metrics text.

    Args:
        engine: Which engine wrote it.
        text: The Prometheus text format.
        default_model: Model name of series without ``model_name`` (TGI, older vLLM).

    Returns:
        The cumulative counts; a model appears when either of its counters does.

    Raises:
        ValueError: The text is not the Prometheus text format.
    """
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {engine.input_sample: 0, engine.output_sample: 1}
    by_series: dict[tuple[int, str, frozenset[tuple[str, str]]], float] = {}
    scalars: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            value = float(sample.value)
            if not math.isfinite(value):
                continue
            if sample.name in wanted:
                labels = dict(sample.labels)
                model = labels.pop(MODEL_LABEL, "") or default_model
                rest = frozenset((k, v) for k, v in labels.items() if k not in RANK_LABELS)
                key = (wanted[sample.name], model, rest)
                by_series[key] = max(by_series.get(key, 0.0), value)  # ranks: the same tokens
            elif sample.name in (engine.duration_sum_sample, engine.duration_count_sample):
                scalars[sample.name] = scalars.get(sample.name, 0.0) + value
    tokens: dict[str, list[float]] = {}
    for (which, model, _rest), value in sorted(by_series.items(), key=lambda kv: kv[0][:2]):
        tokens.setdefault(model, [0.0, 0.0])[which] += value  # engines: different requests
    return EngineReading(
        {model: (pair[0], pair[1]) for model, pair in tokens.items()},
        scalars.get(engine.duration_sum_sample or ""),
        scalars.get(engine.duration_count_sample or ""),
    )
