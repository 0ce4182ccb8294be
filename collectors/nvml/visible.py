"""Which GPUs a process sees: ``CUDA_VISIBLE_DEVICES`` mapped onto NVML indices.

Pure functions, no NVML: the caller passes what NVML enumerated (:class:`GpuInfo`) and,
for MIG device UUIDs, a function that finds the parent GPU's UUID.

CUDA's rules, as documented for ``CUDA_VISIBLE_DEVICES`` and as CUDA behaves:

- Unset: every GPU is visible. Set to an empty string: none is.
- A comma-separated list of entries, enumerated in the order given. An entry is an
  index (read like ``strtoul``: leading digits, so ``1gpu`` is ``1``), a GPU UUID
  (``GPU-8932f937-...``, or any prefix of one that names a single GPU), or a MIG device
  (``MIG-<uuid>``, or ``MIG-GPU-<gpu uuid>/<gi>/<ci>`` on older drivers).
- The list stops at the first invalid entry (negative or out-of-range index, unknown or
  ambiguous UUID, empty entry): only the entries before it are visible. ``-1`` hides all.
- The same device listed twice makes the whole list empty.
- Indices count in CUDA's order: ``CUDA_DEVICE_ORDER=FASTEST_FIRST`` (the default)
  or ``PCI_BUS_ID``. NVML always counts in PCI bus order, so the two agree only with
  ``PCI_BUS_ID`` or on identical GPUs; otherwise CUDA index N may be another GPU than
  NVML index N. UUIDs are exact whatever the order.
- NVML cannot measure a MIG instance on its own: the parent GPU is reported once, and
  its energy covers every instance on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

_INDEX = re.compile(r"\s*\+?(\d+)")

ORDER_NOTE_SET = (
    "CUDA_DEVICE_ORDER is not PCI_BUS_ID and the GPUs are not identical: CUDA index {index} "
    "may be another GPU than NVML index {index}; set CUDA_DEVICE_ORDER=PCI_BUS_ID or list "
    "GPUs by UUID in CUDA_VISIBLE_DEVICES"
)
ORDER_NOTE_ORDER = (
    "CUDA_DEVICE_ORDER is not PCI_BUS_ID and the GPUs are not identical: every GPU is "
    "visible, but CUDA device {position} may be another GPU than this one (NVML numbers "
    "GPUs in PCI bus order)"
)
MIG_NOTE = (
    "MIG instance(s) {ids} of this GPU are visible: NVML cannot measure a MIG instance on "
    "its own, so this is the whole GPU, every instance on it included"
)


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """One GPU as NVML enumerates it.

    Attributes:
        index: NVML index (PCI bus order).
        uuid: ``GPU-...`` UUID.
        name: Model name.
    """

    index: int
    uuid: str
    name: str


@dataclass(frozen=True, slots=True)
class Visibility:
    """The GPUs visible to the process, as NVML indices.

    Attributes:
        indices: NVML indices in CUDA's enumeration order, each once.
        notes: Remarks about the whole list (where it stopped, why it is empty).
        device_notes: NVML index -> remarks about that GPU (MIG parent, uncertain order).
        migs: NVML index -> the visible MIG entries on that GPU, as given.
        order_uncertain: True when CUDA's numbering may differ from NVML's for the
            entries given by index (or for the whole list when unset).
    """

    indices: tuple[int, ...]
    notes: tuple[str, ...] = ()
    device_notes: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    order_uncertain: bool = False
    migs: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Entry:
    """One parsed entry of ``CUDA_VISIBLE_DEVICES``.

    Attributes:
        kind: ``index``, ``uuid`` (a GPU UUID or prefix), ``mig`` (``MIG-<uuid>``) or
            ``mig-legacy`` (``MIG-GPU-<uuid>/<gi>/<ci>``).
        text: The entry as written, whitespace stripped.
        index: The index, for ``index`` entries.
        gpu_uuid: The parent GPU's UUID, for ``mig-legacy`` entries.
    """

    kind: str
    text: str
    index: int | None = None
    gpu_uuid: str | None = None


def parse_entry(text: str) -> Entry | None:
    """Parse one entry of ``CUDA_VISIBLE_DEVICES``; None when it is invalid (ends the list).

    Args:
        text: One comma-separated entry.

    Returns:
        The entry, or None for an empty, negative or unreadable one.
    """
    entry = text.strip()
    if entry.startswith("GPU-"):
        return Entry("uuid", entry) if len(entry) > len("GPU-") else None
    if entry.startswith("MIG-GPU-"):
        parent = entry[len("MIG-") :].split("/", 1)[0]
        return Entry("mig-legacy", entry, gpu_uuid=parent) if len(parent) > 4 else None
    if entry.startswith("MIG-"):
        return Entry("mig", entry) if len(entry) > len("MIG-") else None
    match = _INDEX.match(entry)
    if match is None:
        return None
    return Entry("index", entry, index=int(match.group(1)))


def parse_visible_devices(value: str) -> tuple[list[Entry], str | None]:
    """Split ``CUDA_VISIBLE_DEVICES`` into entries, stopping at the first invalid one.

    Args:
        value: The variable's value (set; unset is handled by :func:`resolve_visible`).

    Returns:
        The valid entries before the first invalid one, and that invalid entry's text
        (None when every entry parsed).
    """
    entries: list[Entry] = []
    for raw in value.split(","):
        entry = parse_entry(raw)
        if entry is None:
            return entries, raw.strip()
        entries.append(entry)
    return entries, None


def match_uuid_prefix(prefix: str, gpus: Sequence[GpuInfo]) -> GpuInfo | None:
    """The single GPU whose UUID starts with ``prefix`` (case-insensitive), else None."""
    wanted = prefix.lower()
    found = [g for g in gpus if g.uuid.lower().startswith(wanted)]
    return found[0] if len(found) == 1 else None


def _lookup(
    entry: Entry,
    gpus: Sequence[GpuInfo],
    by_index: Mapping[int, GpuInfo],
    mig_parent: Callable[[str], str | None],
) -> GpuInfo | None:
    """The GPU an entry names, or None when it names none (or several)."""
    if entry.kind == "index":
        return by_index.get(entry.index if entry.index is not None else -1)
    if entry.kind == "uuid":
        return match_uuid_prefix(entry.text, gpus)
    parent = entry.gpu_uuid if entry.kind == "mig-legacy" else mig_parent(entry.text)
    if parent is None:
        return None
    return next((g for g in gpus if g.uuid.lower() == parent.lower()), None)


def _order_uncertain(gpus: Sequence[GpuInfo], device_order: str | None) -> bool:
    """Whether CUDA's numbering may differ from NVML's (PCI bus) numbering."""
    if (device_order or "").strip() == "PCI_BUS_ID":
        return False
    return len({g.name for g in gpus}) > 1


@dataclass(slots=True)
class _Builder:
    """Accumulates the resolution of a list of entries."""

    indices: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    device_notes: dict[int, list[str]] = field(default_factory=dict)
    migs: dict[int, list[str]] = field(default_factory=dict)
    by_index: list[int] = field(default_factory=list)

    def note(self, index: int, text: str) -> None:
        self.device_notes.setdefault(index, []).append(text)

    def build(self, order_uncertain: bool) -> Visibility:
        for index, ids in self.migs.items():
            self.note(index, MIG_NOTE.format(ids=", ".join(ids)))
        notes = {k: tuple(v) for k, v in self.device_notes.items()}
        migs = {k: tuple(v) for k, v in self.migs.items()}
        return Visibility(tuple(self.indices), tuple(self.notes), notes, order_uncertain, migs)


def resolve_visible(
    gpus: Sequence[GpuInfo],
    visible: str | None,
    device_order: str | None = None,
    mig_parent: Callable[[str], str | None] | None = None,
) -> Visibility:
    """Map ``CUDA_VISIBLE_DEVICES`` onto NVML indices, following CUDA's rules.

    Args:
        gpus: Every GPU NVML enumerates, in NVML order.
        visible: The value of ``CUDA_VISIBLE_DEVICES``; None when unset.
        device_order: The value of ``CUDA_DEVICE_ORDER``; None when unset.
        mig_parent: MIG device UUID (``MIG-...``) -> its parent GPU's UUID, or None when
            unknown. Without it, ``MIG-<uuid>`` entries are invalid.

    Returns:
        The visible GPUs as NVML indices, in CUDA's order, with notes.
    """
    uncertain = _order_uncertain(gpus, device_order)
    if visible is None:
        return _all_visible(gpus, uncertain)
    if visible.strip() == "":
        return Visibility((), ("CUDA_VISIBLE_DEVICES is empty: no GPU is visible",))
    entries, invalid = parse_visible_devices(visible)
    gpu_by_index = {g.index: g for g in gpus}
    find_parent = mig_parent if mig_parent is not None else (lambda _uuid: None)
    builder = _Builder()
    seen: set[str] = set()
    for entry in entries:
        gpu = _lookup(entry, gpus, gpu_by_index, find_parent)
        if gpu is None:
            invalid = entry.text
            break
        key = entry.text if entry.kind.startswith("mig") else gpu.uuid
        if key in seen:
            return Visibility(
                (), (f"CUDA_VISIBLE_DEVICES lists {entry.text!r} twice: CUDA sees no GPU",)
            )
        seen.add(key)
        _add(builder, entry, gpu)
    if invalid is not None:
        builder.notes.append(
            f"CUDA_VISIBLE_DEVICES stops at the invalid entry {invalid!r}: "
            "only the GPUs listed before it are visible"
        )
    order_uncertain = uncertain and bool(builder.by_index)
    if order_uncertain:
        _note_order(builder, gpus)
    return builder.build(order_uncertain)


def _add(builder: _Builder, entry: Entry, gpu: GpuInfo) -> None:
    """Record that ``entry`` made ``gpu`` visible."""
    if entry.kind.startswith("mig"):
        builder.migs.setdefault(gpu.index, []).append(entry.text)
    if entry.kind == "index" and gpu.index not in builder.by_index:
        builder.by_index.append(gpu.index)
    if gpu.index not in builder.indices:
        builder.indices.append(gpu.index)


def _note_order(builder: _Builder, gpus: Sequence[GpuInfo]) -> None:
    """Add the uncertain-order note to every GPU made visible by index."""
    every_gpu = sorted(builder.indices) == sorted(g.index for g in gpus)
    for index in builder.by_index:
        if every_gpu:
            position = builder.indices.index(index)
            builder.note(index, ORDER_NOTE_ORDER.format(position=position))
        else:
            builder.note(index, ORDER_NOTE_SET.format(index=index))


def _all_visible(gpus: Sequence[GpuInfo], uncertain: bool) -> Visibility:
    """Every GPU, in NVML order; flagged when CUDA may number them differently."""
    indices = tuple(g.index for g in gpus)
    if not uncertain:
        return Visibility(indices)
    notes = {index: (ORDER_NOTE_ORDER.format(position=pos),) for pos, index in enumerate(indices)}
    return Visibility(indices, (), notes, True)


def visible_from_environ(
    gpus: Sequence[GpuInfo],
    environ: Mapping[str, str],
    mig_parent: Callable[[str], str | None] | None = None,
) -> Visibility:
    """:func:`resolve_visible` with ``CUDA_VISIBLE_DEVICES`` and ``CUDA_DEVICE_ORDER`` read
    from ``environ``."""
    return resolve_visible(
        gpus,
        environ.get("CUDA_VISIBLE_DEVICES"),
        environ.get("CUDA_DEVICE_ORDER"),
        mig_parent,
    )
