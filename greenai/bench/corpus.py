"""The benchmark's text: shipped with greenai, split into training and held-out parts.

``data/python_topics.txt`` holds the Python documentation topics (see ``data/NOTICE.md``):
English prose available offline, so that the built-in models' perplexity means something.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

CORPUS_FILE = "python_topics.txt"
CHUNK_CHARS = 4096
HELD_OUT_EVERY = 10


@dataclass(frozen=True, slots=True)
class Corpus:
    """Training and held-out text.

    Attributes:
        train: Text the models learn from.
        held_out: Text kept apart for perplexity (every tenth chunk of 4096 characters).
        digest: SHA-256 of the whole text (hex), part of the model cache keys.
    """

    train: str
    held_out: str
    digest: str


def split_text(text: str, chunk_chars: int = CHUNK_CHARS, every: int = HELD_OUT_EVERY) -> Corpus:
    """Split ``text`` into consecutive chunks; every ``every``-th chunk is held out.

    Args:
        text: The whole corpus.
        chunk_chars: Chunk length, characters.
        every: One chunk in ``every`` goes to the held-out part (the last of each group).
    """
    chunks = [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)]
    train = "".join(c for i, c in enumerate(chunks) if i % every != every - 1)
    held_out = "".join(c for i, c in enumerate(chunks) if i % every == every - 1)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Corpus(train=train, held_out=held_out, digest=digest)


@lru_cache(maxsize=1)
def load_corpus() -> Corpus:
    """The shipped corpus, split (read once per process)."""
    text = (
        resources.files("greenai.bench").joinpath("data").joinpath(CORPUS_FILE).read_text("utf-8")
    )
    return split_text(text)
