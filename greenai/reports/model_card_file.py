"""A model card file (a README.md) created or updated in place with a run's energy
figures: ``co2_eq_emissions`` merged into its YAML front matter, one delimited section
of its body inserted or replaced; the rest kept as it is::

    from greenai.reports.model_card_file import write_model_card

    write_model_card(run.id, Path("out/README.md"))   # creates or updates the card

The figures are :func:`greenai.reports.model_card.model_card`'s, read from the ledger
by :func:`card_for_run`: a run resumed from a checkpoint (its ``resumed_from`` tag) is
counted with the sessions before it, so the card states what training the model cost.

The front matter is what the Hugging Face Hub reads: a block between ``---`` lines at
the top of the file (the same pattern ``huggingface_hub`` uses). Keys are replaced in
the YAML text itself, so the other keys keep their order, formatting and comments;
the result is parsed back and compared with what was meant, and where the text cannot
be edited in place (a flow mapping, say) the mapping is written out again whole, with
the same data. A front matter that is not a YAML mapping is refused, never overwritten.

The section lies between :data:`SECTION_START` and :data:`SECTION_END`. Writing it
again replaces what lies between the markers, so updating a card twice with the same
content changes nothing. Without markers it goes under the card's ``Environmental
Impact`` heading (Hugging Face's card template has one), else at the end under a new
heading of that name. Line endings (LF or CRLF) and a byte-order mark are kept; the
file is replaced atomically, keeping its permissions.

Numbers are written in positional notation (``0.0000261``, never ``2.61e-05``): the
Hub and ``huggingface_hub`` read the first digits of an emissions figure as its value.
PyYAML is imported on first use.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenai.errors import GreenAIError
from greenai.integrations.hf_resume import RESUMED_FROM_TAG
from greenai.reports.model_card import ModelCard, ModelCardError, model_card

if TYPE_CHECKING:
    from greenai.ledger import Ledger

__all__ = [
    "SECTION_END", "SECTION_START", "card_for_run", "dump_yaml", "marked_section",
    "update_card_file", "updated_card", "write_model_card",
]  # fmt: skip

SECTION_START = "<!-- greenai:energy:start -->"
"""Opens the section greenai writes (an HTML comment: invisible once rendered)."""
SECTION_END = "<!-- greenai:energy:end -->"
"""Closes it."""
SECTION_HEADING = "## Environmental Impact"
"""The heading a new section is put under (the name Hugging Face's template uses)."""

FRONT_MATTER = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
"""The front matter: opening line, YAML text, closing line (as ``huggingface_hub``)."""
_IMPACT_HEADING = re.compile(r"^#{1,6}[ \t]+Environmental Impact\b[^\r\n]*$", re.M | re.I)
_BOM = "\ufeff"
NEW_FILE_MODE = 0o644
"""Permissions of a card file created anew."""
MAX_SESSIONS = 10_000
"""Most earlier sessions followed through ``resumed_from`` tags (a guard, never reached)."""


def _yaml() -> Any:
    try:
        import yaml
    except ModuleNotFoundError as exc:
        raise ModelCardError(
            "model cards need PyYAML: pip install 'greenai[integrations]' (or PyYAML)"
        ) from exc
    return yaml


def _positional(number: float) -> str:
    """``number`` in positional notation (``0.0000261``, ``411000.0``)."""
    text = format(Decimal(repr(float(number))), "f")
    return text if "." in text else text + ".0"


def dump_yaml(data: Mapping[str, Any]) -> str:
    """``data`` as block-style YAML, keys in their order, floats in positional notation.

    Raises:
        ModelCardError: PyYAML is not installed.
    """
    yaml = _yaml()

    class CardDumper(yaml.SafeDumper):  # type: ignore[misc,name-defined]
        """SafeDumper that writes floats without exponents."""

    def represent_float(dumper: Any, value: float) -> Any:
        if not math.isfinite(value):
            return dumper.represent_float(value)
        return dumper.represent_scalar("tag:yaml.org,2002:float", _positional(value))

    CardDumper.add_representer(float, represent_float)
    text: str = yaml.dump(
        dict(data), Dumper=CardDumper, sort_keys=False, allow_unicode=True, width=10_000
    )
    return text


def load_mapping(yaml_text: str, where: str) -> dict[str, Any]:
    """The mapping a front matter holds (empty for an empty one).

    Raises:
        ModelCardError: Not YAML, or YAML that is not a mapping.
    """
    yaml = _yaml()
    try:
        data = yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        raise ModelCardError(
            f"{where}: its front matter is not valid YAML ({first_line(exc)}); fix it first"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModelCardError(f"{where}: its front matter is not a YAML mapping; fix it first")
    return data


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _trim_end(lines: list[str], start: int, end: int) -> int:
    """Leaves blank and comment lines at the end of a key's range to what follows it."""
    while end - 1 > start and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return end


def _spliced(yaml_text: str, key: str, block: str) -> str | None:
    """``yaml_text`` with the top-level ``key`` replaced by (or appended as) ``block``;
    None where the text is not a block mapping that can be edited line by line."""
    yaml = _yaml()
    try:
        node = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return block if not yaml_text.strip() else yaml_text.rstrip("\r\n") + "\n" + block
    if not isinstance(node, yaml.MappingNode) or node.flow_style:
        return None
    lines = yaml_text.splitlines(keepends=True)
    ranges = []
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            start, end = key_node.start_mark.line, value_node.end_mark.line
            end = end if value_node.end_mark.column == 0 else end + 1
            ranges.append((start, _trim_end(lines, start, end)))
    if not ranges:
        return yaml_text.rstrip("\r\n") + "\n" + block
    for start, end in reversed(ranges[1:]):
        del lines[start:end]
    start, end = ranges[0]
    lines[start:end] = [block]
    return "".join(lines)


def merge_front_matter(yaml_text: str, updates: Mapping[str, Any], where: str) -> str:
    """The front matter's YAML text with ``updates``' keys set (each replaced whole).

    Args:
        yaml_text: The YAML between the ``---`` lines (may be empty).
        updates: Top-level keys and their new values.
        where: The file, for messages.

    Returns:
        The new YAML text, without a trailing line break (LF line endings).

    Raises:
        ModelCardError: The front matter is not a YAML mapping (nothing is written).
    """
    data = load_mapping(yaml_text, where)
    wanted = {**data, **load_mapping(dump_yaml(updates), where)}
    text: str | None = yaml_text.replace("\r\n", "\n")
    for key, value in updates.items():
        if text is not None:
            text = _spliced(text, key, dump_yaml({key: value}))
    if text is None or load_mapping(text, where) != wanted:
        text = dump_yaml(wanted)  # the same data, written out whole
    return text.rstrip("\n")


def marked_section(section: str) -> str:
    """``section`` between the markers (LF line endings)."""
    return f"{SECTION_START}\n{section.strip()}\n{SECTION_END}"


def put_section(body: str, section: str, where: str) -> str:
    """``body`` with the marked section replaced, or inserted (see the module docstring).

    Raises:
        ModelCardError: A start marker without its end marker (nothing is guessed).
    """
    marked = marked_section(section)
    start = body.find(SECTION_START)
    if start >= 0:
        end = body.find(SECTION_END, start)
        if end < 0:
            raise ModelCardError(
                f"{where}: {SECTION_START} has no {SECTION_END} after it; "
                "add the end marker or remove the start marker"
            )
        return body[:start] + marked + body[end + len(SECTION_END) :]
    heading = _IMPACT_HEADING.search(body)
    if heading is not None:
        rest = body[heading.end() :].lstrip("\n")
        return body[: heading.end()] + "\n\n" + marked + ("\n\n" + rest if rest else "\n")
    lead = body.rstrip("\n") + "\n\n" if body.strip() else "\n"  # trailing spaces are Markdown
    return f"{lead}{SECTION_HEADING}\n\n{marked}\n"


def updated_card(text: str, updates: Mapping[str, Any], section: str, where: str) -> str:
    """A card's new text: front matter merged, section put (see the module docstring).

    Args:
        text: The card as it is (empty for a new card).
        updates: Front matter keys to set.
        section: The section's Markdown, without its markers.
        where: The file, for messages.

    Raises:
        ModelCardError: The front matter is not a mapping, or a marker is unmatched.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    bom = _BOM if text.startswith(_BOM) else ""
    text = text.removeprefix(_BOM).replace("\r\n", "\n")
    match = FRONT_MATTER.search(text)
    if match is None:
        opening, yaml_text, body = "---\n", "", text
    else:
        opening, yaml_text, body = match.group(1), match.group(2), text[match.end() :]
    front = merge_front_matter(yaml_text, updates, where)
    new = f"{opening}{front}\n---\n{put_section(body, section, where)}"
    return bom + new.replace("\n", newline)


def read_card(path: Path) -> str:
    """A card's text ("" when the file does not exist yet).

    Raises:
        ModelCardError: It cannot be read, or is not UTF-8 text.
    """
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError as exc:
        raise ModelCardError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise ModelCardError(f"cannot read {path}: {exc.strerror or exc}") from exc


def write_atomically(path: Path, text: str) -> None:
    """Replaces ``path`` with ``text`` (UTF-8) through a temporary file in its folder,
    keeping the file's permissions (:data:`NEW_FILE_MODE` for a new file).

    Raises:
        ModelCardError: The folder does not exist or cannot be written.
    """
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    except OSError as exc:
        raise ModelCardError(f"cannot write {path}: {exc.strerror or exc}") from exc
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise ModelCardError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)


def update_card_file(path: Path, updates: Mapping[str, Any], section: str) -> Path:
    """Creates or updates the card at ``path`` (see :func:`updated_card`); returns it.

    Raises:
        ModelCardError: Unreadable or unwritable file, front matter not a mapping, or an
            unmatched marker; the file is then left as it was.
    """
    where = str(path)
    target = path.resolve() if path.is_symlink() else path  # the file a link points to
    new = updated_card(read_card(target), updates, section, where)
    write_atomically(target, new)
    return path


def country_names() -> dict[str, str]:
    """CodeCarbon's country names by ISO3 code (empty when its table cannot be read)."""
    from greenai.emissions.factors import load_table

    try:
        return load_table().countries()
    except GreenAIError:
        return {}


def earlier_sessions(
    ledger: Ledger, record: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """The records of the sessions a resumed run continued (its ``resumed_from`` tags,
    followed back), oldest first, and the id of one the ledger does not hold, if any."""
    chain: list[dict[str, Any]] = []
    seen = {str(record["run"]["id"])}
    current: Mapping[str, Any] = record
    while len(chain) < MAX_SESSIONS:
        tags = current["run"].get("tags")
        previous = tags.get(RESUMED_FROM_TAG) if isinstance(tags, Mapping) else None
        if not isinstance(previous, str) or not previous or previous in seen:
            break
        found = ledger.get_run(previous)
        if found is None:
            return chain[::-1], previous
        seen.add(previous)
        chain.append(found)
        current = found
    return chain[::-1], None


def card_for_run(run_id: str, *, url: str | None = None, sessions: bool = True) -> ModelCard:
    """The model card figures of a run (or multi-rank job) in the ledger.

    Args:
        run_id: The run's id (a job's id for the whole job).
        url: Ledger URL (None: the configured ledger).
        sessions: Count the earlier sessions a resumed training continued (False: this
            run only).

    Raises:
        ModelCardError: No such run, or it is still running.
        ConfigError: A bad ledger URL or configuration.
        StorageError: The ledger cannot be opened.
    """
    from greenai.config import load_settings
    from greenai.ledger import Ledger
    from greenai.ledger.journal import unshipped_note

    settings = load_settings({"db_url": url})
    ledger = Ledger.open(settings.db_url)
    try:
        record = ledger.get_run(run_id)
        earlier, unlinked = earlier_sessions(ledger, record) if record and sessions else ([], None)
    finally:
        ledger.close()
    if record is None:
        note = unshipped_note(settings.db_url)
        raise ModelCardError(f"no run {run_id!r} in the ledger" + (f" ({note})" if note else ""))
    return model_card(record, earlier=earlier, unlinked=unlinked, country_names=country_names())


def write_model_card(run_id: str, path: Path, *, url: str | None = None) -> Path:
    """Creates or updates a model card (README.md) with a run's energy figures.

    ``co2_eq_emissions`` is merged into the card's YAML front matter (other keys and the
    body kept) and the energy section between its markers is inserted or replaced, so
    writing the same run's card again changes nothing. A resumed training's card counts
    the sessions before it (:func:`card_for_run`).

    Args:
        run_id: The run's id (a multi-rank job's id for the whole job).
        path: The card's file; created when missing (its folder must exist).
        url: Ledger URL (None: the configured ledger).

    Returns:
        ``path``.

    Raises:
        ModelCardError: No such run, a run still running, a front matter that is not a
            YAML mapping, an unmatched marker, a file that cannot be read or written,
            or PyYAML missing. The file is then left as it was.
        ConfigError: A bad ledger URL or configuration.
        StorageError: The ledger cannot be opened.
    """
    card = card_for_run(run_id, url=url)
    return update_card_file(Path(path), card.metadata, card.paragraph)
