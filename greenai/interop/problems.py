"""Why a file is refused: problems located by line and column, and the error that holds them."""

from __future__ import annotations

from dataclasses import dataclass

from greenai.errors import GreenAIError

SHOWN_PROBLEMS = 5
"""How many problems an import error keeps and shows; the rest are only counted."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file.

    Attributes:
        line: 1-based line of the file where the record starts; None for the whole file.
        message: What is wrong, in words.
        column: 1-based position of the cell in its record, or None for the whole line.
        name: The column's name from the header, when it has one.
    """

    line: int | None
    message: str
    column: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        """One line: characters that would break it (a header's form feed) escaped."""
        if self.line is None:
            return _one_line(self.message)
        where = f"line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
            if self.name:
                where += f" ({self.name})"
        return _one_line(f"{where}: {self.message}")


def _one_line(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class UnreadableFileError(Exception):
    """A problem after which the rest of the file cannot be read (binary, not CSV)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class CsvImportError(GreenAIError):
    """A file was refused; nothing of it was imported.

    Attributes:
        path: The file, as given.
        problems: The first :data:`SHOWN_PROBLEMS` problems, in file order.
        count: How many problems were found in all.
    """

    def __init__(self, path: str, problems: list[Problem], count: int) -> None:
        self.path = path
        self.problems = problems
        self.count = count
        more = f" (and {count - 1} more problems)" if count > 1 else ""
        super().__init__(f"{path}: {problems[0]}{more}; nothing imported")

    def lines(self) -> list[str]:
        """One line per problem shown; with several, a last line with the count."""
        if self.count == 1:
            return [str(self)]
        shown = [f"{self.path}: {p}" for p in self.problems]
        hidden = self.count - len(self.problems)
        tail = f", {hidden} not shown" if hidden else ""
        return [*shown, f"{self.path}: {self.count} problems{tail}; nothing imported"]


class ProblemLog:
    """Problems found while reading a file: the first few kept, all counted."""

    def __init__(self, keep: int = SHOWN_PROBLEMS) -> None:
        self.kept: list[Problem] = []
        self.count = 0
        self._keep = keep

    def add(self, problem: Problem) -> None:
        """Records ``problem``."""
        self.count += 1
        if len(self.kept) < self._keep:
            self.kept.append(problem)

    def raise_if_any(self, path: str) -> None:
        """Raises CsvImportError when a problem was recorded."""
        if self.count:
            raise CsvImportError(path, self.kept, self.count)
