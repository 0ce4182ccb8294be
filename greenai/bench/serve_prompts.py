"""The prompts of ``greenai bench --serve``: a file, or passages of the built-in text.

Each prompt is a list of chat messages. A ``.jsonl`` file holds one object per line,
``{"prompt": "..."}`` or ``{"messages": [{"role": "user", "content": "..."}]}``; any
other file holds one prompt per non-empty line. The built-in prompts are passages of
the benchmark's held-out text (``greenai.bench.corpus``) to continue. Requests take the
prompts in a seeded order, round and round.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from greenai.errors import ConfigError

Messages = list[dict[str, Any]]
PASSAGE_CHARS = (200, 1200)
"""Built-in passages: paragraphs of this many characters (at least, at most)."""
INSTRUCTION = "Continue the following text in the same style.\n\n"


def builtin_prompts() -> list[Messages]:
    """Passages of the built-in held-out text, each with an instruction to continue it."""
    from greenai.bench.corpus import load_corpus

    low, high = PASSAGE_CHARS
    paragraphs = [p.strip() for p in load_corpus().held_out.split("\n\n")]
    chosen = [p for p in paragraphs if low <= len(p) <= high]
    return [[{"role": "user", "content": INSTRUCTION + p}] for p in chosen]


def _line_prompt(path: Path, number: int, line: str) -> Messages:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise ConfigError("prompts", f"{path}:{number}", "a JSON object per line") from exc
    if isinstance(item, dict) and isinstance(item.get("prompt"), str):
        return [{"role": "user", "content": item["prompt"]}]
    messages = item.get("messages") if isinstance(item, dict) else None
    if isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages):
        return messages
    raise ConfigError(
        "prompts", f"{path}:{number}", 'an object with "prompt" (a string) or "messages" (a list)'
    )


def file_prompts(path: Path) -> list[Messages]:
    """The prompts of a file (see the module's docstring).

    Raises:
        ConfigError: Unreadable file, a bad line, or no prompt at all.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("prompts", str(path), f"a readable UTF-8 file ({exc})") from exc
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if path.suffix == ".jsonl":
        found = [_line_prompt(path, n, line) for n, line in lines]
    else:
        found = [[{"role": "user", "content": line}] for _, line in lines]
    if not found:
        raise ConfigError("prompts", str(path), "a file with at least one prompt")
    return found


def request_prompts(source: str | None, count: int, seed: int) -> list[Messages]:
    """``count`` prompts in a seeded order (repeating the set as needed).

    Raises:
        ConfigError: See :func:`file_prompts`.
    """
    pool = file_prompts(Path(source)) if source else builtin_prompts()
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    return [pool[order[i % len(order)]] for i in range(count)]
