"""What a Hugging Face model and its TrainingArguments tell about a run: the model's
name, the model it was adapted from, the numeric precision and the technique.

Read from attributes only (duck typing), so this module imports neither torch nor
transformers and works on any object shaped like them:

- model: ``config._name_or_path`` (where it was loaded from), else the model's class;
  a PEFT model (``peft_config``: adapter name -> config with ``peft_type`` and
  ``base_model_name_or_path``, as PEFT and transformers' adapter integration set it)
  names its base model.
- precision: a quantized model's bits (``quantization_config`` with ``load_in_4bit``,
  ``load_in_8bit`` or ``bits``, or ``is_loaded_in_4bit``/``is_loaded_in_8bit``) ->
  ``int4``/``int8``; else mixed precision from the arguments (``bf16``, ``fp16``);
  else the dtype of the model's parameters (``fp32``, ``bf16``, ``fp16``).
- technique (:data:`greenai.tracking.meta.TECHNIQUES`): LoRA adapters -> ``lora``, or
  ``qlora`` on a 4- or 8-bit model; another adapter -> its PEFT type (``ia3``,
  ``prefix_tuning``); no adapter: a quantized model -> ``int4``/``int8``, mixed
  precision -> ``bf16``/``fp16``, else ``baseline`` (a full fine-tune at full precision).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "float64": "fp64"}
_QUANTIZED_BITS = {4: "int4", 8: "int8"}


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` for a mapping, else ``obj.key``; None when absent."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def base_of(model: Any) -> Any:
    """The model under a PEFT wrapper (``get_base_model()``), else the model itself."""
    getter = getattr(model, "get_base_model", None)
    if callable(getter):
        try:
            return getter()
        except Exception:  # a wrapper that cannot say: the model as given
            return model
    return model


def model_name(model: Any) -> str:
    """Where the model was loaded from (``config._name_or_path``), else its class name."""
    config = getattr(base_of(model), "config", None) or getattr(model, "config", None)
    name = _get(config, "_name_or_path") if config is not None else None
    if isinstance(name, str) and name.strip():
        return name.strip()
    return type(base_of(model)).__name__


def adapters(model: Any) -> list[Any]:
    """The PEFT adapter configs of a model (``peft_config``), in order; [] without."""
    found = getattr(model, "peft_config", None)
    if isinstance(found, Mapping):
        return list(found.values())
    return [found] if found is not None else []


def adapter_kind(config: Any) -> str:
    """An adapter's type in lower case (``lora``, ``ia3``, ``prefix_tuning``)."""
    kind = _get(config, "peft_type")
    text = str(getattr(kind, "value", kind) or "adapter")
    return text.strip().lower().replace("-", "_")


def quantized_precision(model: Any) -> str | None:
    """``int4``/``int8`` for a model loaded quantized, else None."""
    base = base_of(model)
    for holder in (base, model):
        if getattr(holder, "is_loaded_in_4bit", False) is True:
            return "int4"
        if getattr(holder, "is_loaded_in_8bit", False) is True:
            return "int8"
    config = getattr(base, "config", None)
    quant = _get(config, "quantization_config") if config is not None else None
    if quant is None:
        return None
    if _get(quant, "load_in_4bit") is True:
        return "int4"
    if _get(quant, "load_in_8bit") is True:
        return "int8"
    bits = _get(quant, "bits")
    return _QUANTIZED_BITS.get(bits) if isinstance(bits, int) else None


def parameter_precision(model: Any) -> str | None:
    """The dtype of the model's first parameter (``fp32``, ``bf16``, ...), else None."""
    params = getattr(model, "parameters", None)
    if not callable(params):
        return None
    try:
        first = next(iter(params()), None)
    except Exception:  # a model whose parameters cannot be listed
        return None
    dtype = str(getattr(first, "dtype", "")).removeprefix("torch.")
    return _DTYPES.get(dtype, dtype or None)


def mixed_precision(args: Any) -> str | None:
    """``bf16``/``fp16`` when the arguments ask for mixed precision, else None."""
    if getattr(args, "bf16", False) is True:
        return "bf16"
    if getattr(args, "fp16", False) is True:
        return "fp16"
    return None


def technique_of(model: Any, args: Any) -> str:
    """The technique a run applies (see the module's docstring)."""
    quantized = quantized_precision(model)
    kinds = [adapter_kind(c) for c in adapters(model)]
    if any("lora" in kind for kind in kinds):
        return "qlora" if quantized else "lora"
    if kinds:
        return kinds[0]
    return quantized or mixed_precision(args) or "baseline"


def base_model_of(model: Any) -> str:
    """The model a technique was applied to: an adapter's base model, else the model."""
    for config in adapters(model):
        name = _get(config, "base_model_name_or_path")
        if isinstance(name, str) and name.strip():
            return name.strip()
    return model_name(model)


def detect(model: Any, args: Any, phase: str) -> dict[str, Any]:
    """Run metadata from a model and its TrainingArguments (keywords of ``greenai.start``).

    Args:
        model: The Trainer's model (a ``PreTrainedModel``, a PEFT model, any module).
        args: The Trainer's ``TrainingArguments`` (None: none known).
        phase: The run's phase (``training``, ``evaluation``, ``inference``).

    Returns:
        ``model``, ``base_model``, ``precision``, ``technique``, ``phase`` and, where the
        arguments give it, ``batch_size`` (per device) and ``name`` (``run_name``).
    """
    meta: dict[str, Any] = {
        "model": model_name(model),
        "base_model": base_model_of(model),
        "precision": quantized_precision(model)
        or mixed_precision(args)
        or parameter_precision(model),
        "technique": technique_of(model, args),
        "phase": phase,
    }
    size_key = (
        "per_device_train_batch_size" if phase == "training" else "per_device_eval_batch_size"
    )
    batch_size = getattr(args, size_key, None)
    if isinstance(batch_size, int) and not isinstance(batch_size, bool) and batch_size > 0:
        meta["batch_size"] = batch_size
    run_name = getattr(args, "run_name", None)
    if isinstance(run_name, str) and run_name.strip():
        meta["name"] = run_name.strip()
    return {k: v for k, v in meta.items() if v is not None}
