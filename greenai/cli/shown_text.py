"""Text from outside greenai (run metadata, hardware names, paths, configuration) as the
CLI shows it in a table or a message: one rule, one home.

Such text is never read as rich markup (a project named ``[/]`` would raise, ``[red]``
would restyle the line), and characters that would harm the output are written as
Python escapes: control characters (an ESC sequence in a name would reach the terminal;
tab and newline are kept) and lone surrogates (a path of undecodable bytes, as Python
decodes it, cannot be written as UTF-8 and would crash the command).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

_UNSHOWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def escaped(text: str) -> str:
    """``text`` with control characters and lone surrogates as escapes (``\\x1b``,
    ``\\udc80``); anything else unchanged."""
    return _UNSHOWABLE.sub(lambda m: repr(m.group())[1:-1], text)


def shown_text(text: str, style: str = "") -> Text:
    """``text`` (:func:`escaped`) as a rich ``Text``: printed as it is, never as markup.

    Args:
        text: Text from outside greenai.
        style: A rich style for all of it (none by default).
    """
    from rich.text import Text

    return Text(escaped(text), style=style)
