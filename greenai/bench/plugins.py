"""Workloads from outside greenai: user functions and Hugging Face models.

User workloads
    A function taking a :class:`~greenai.bench.WorkloadContext`, described with
    ``@greenai.bench.workload(...)``, selected by ``--workload module:function`` or by the
    name it is registered under in the entry point group ``greenai.workloads``::

        [project.entry-points."greenai.workloads"]
        my-decode = "mypkg.bench:decode"

Hugging Face causal LMs
    ``--hf-model PATH`` loads a transformers causal LM and its tokenizer from a local
    folder, ``local_files_only=True``: never a download. transformers is imported only
    then.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from greenai.bench.context import WorkloadContext, workload_meta
from greenai.errors import ConfigError

ENTRY_POINT_GROUP = "greenai.workloads"
_ACCEPTED = f"module:function, or a name registered in the entry point group {ENTRY_POINT_GROUP}"

WorkloadFn = Callable[[WorkloadContext], Any]


def registered_workloads() -> dict[str, metadata.EntryPoint]:
    """Workloads installed packages register (entry point group ``greenai.workloads``)."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_workload(spec: str) -> tuple[WorkloadFn, dict[str, Any]]:
    """The function a ``--workload`` value names, and its run metadata.

    Args:
        spec: ``module:function`` (``function`` may be dotted), or an entry point name.

    Raises:
        ConfigError: Unknown name, module or attribute, or not callable.
    """
    if ":" in spec:
        module_name, _, attribute = spec.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError("workload", spec, f"{_ACCEPTED} ({exc})") from exc
    else:
        entry = registered_workloads().get(spec)
        if entry is None:
            raise ConfigError("workload", spec, _ACCEPTED)
        try:
            target = entry.load()
        except Exception as exc:  # a broken plug-in names itself, it does not crash
            raise ConfigError("workload", spec, f"{_ACCEPTED} (loading failed: {exc})") from exc
    meta = workload_meta(target, spec)
    return target, meta


def load_hf_model(path: str, device: str) -> Any:
    """A Hugging Face causal LM from a local folder, as a :class:`~greenai.bench.lm.CausalLM`.

    Raises:
        ConfigError: The folder is missing, transformers is not installed, or it cannot
            load the folder without downloading.
    """
    from greenai.bench.hf import HFCausalLM

    folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        raise ConfigError("hf_model", path, "a local folder holding a model's config.json")
    try:
        transformers = importlib.import_module("transformers")
    except ImportError as exc:
        raise ConfigError(
            "hf_model", path, "needs the transformers package: pip install transformers"
        ) from exc
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            "hf_model", path, f"a folder transformers can load offline ({exc})"
        ) from exc
    model = model.to(device).eval()
    return HFCausalLM.from_pretrained_pair(f"hf:{folder.name}", model, tokenizer)
