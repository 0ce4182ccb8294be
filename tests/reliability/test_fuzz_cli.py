"""Whatever arguments ``greenai`` is given, it works or refuses; never a traceback.

Generated argument lists for the commands a user or cron runs: ``runs list``, ``runs
show``, ``runs export``, ``report``, ``import codecarbon``, ``sync``, ``db upgrade``,
``bench``, ``detect`` and ``run``: each command's options in any order and number, their
values valid, edge (0, -1, 2**70) or hostile (unicode, bytes that are not UTF-8, NUL,
100 kB, markup, terminal escapes), and stray tokens. Run in this process through typer's
test runner against a ledger holding runs whose metadata is itself hostile; the outcome
follows :func:`tests.reliability.fuzz.assert_handled` (exit code 0, or click's usage box,
or greenai's one-line refusal), and a run table shows the ledger's text as text: no rich
markup read from it, no terminal escape written.

What is left out, and why: ``agent``, ``dashboard`` and ``demo`` serve until stopped;
``runs show --source prometheus`` asks a Prometheus server over the network; ``report``
always gets a ``--format`` without ``pdf`` (each PDF takes seconds, and the report tests
make them); ``run`` always runs ``true``. ``bench`` stops where the benchmark would
start: ``greenai.bench.runner.run_bench`` is replaced by a stand-in that records the
configuration the command accepted and exits 0, because even the smallest benchmark
trains models for longer than this whole test may take (``tests/bench`` runs them).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import event, example, given
from hypothesis import strategies as st

import greenai
from greenai.bench.config import BenchConfig
from greenai.tracking.run import GreenAIWarning
from tests.interop.files import csv_text, row
from tests.reliability.figures import FuzzCount
from tests.reliability.fuzz import (
    ARGV_TEXT,
    MARKUP,
    Outcome,
    assert_handled,
    fuzz_settings,
    huge,
    invoke,
)

# Placeholders that the test replaces with this test's files and ledger.
LEDGER, RUN, PREFIX, MONTH, CSV, STDERR, FOLDER, MISSING, BENCH, BINARY, DEEP = (
    "@ledger", "@run", "@prefix", "@month", "@csv", "@stderr", "@folder", "@missing",
    "@bench", "@binary", "@deep",
)  # fmt: skip
OUT = "@out/"

INT = st.one_of(
    st.integers(-3, 3),
    st.integers(),
    st.sampled_from([2**31, 2**63, 2**70, -(2**63)]),
).map(str)
NUMBER = st.one_of(INT, ARGV_TEXT, st.sampled_from(["1e309", "nan", "0x10", "1_0"]))
NAME = st.one_of(ARGV_TEXT, st.sampled_from(MARKUP))


def _safe_name(text: str) -> str:
    """``text`` as one path component under this test's folder."""
    name = text.replace("/", "_").replace("\x00", "_")
    return name if name not in ("", ".", "..") else "_"


DB = st.one_of(
    st.just(LEDGER),
    st.just(LEDGER),
    st.sampled_from(["sqlite://", "sqlite:///:memory:", "sqlite:///[/].db", "x://y"]),
    st.just("postgresql+psycopg://u:secret@127.0.0.1:1/x"),  # refused at once: port 1
    ARGV_TEXT,
    ARGV_TEXT.map(lambda t: "sqlite:///" + _safe_name(t)[:200]),
)
FILE = st.one_of(st.sampled_from([CSV, STDERR, FOLDER, MISSING, BINARY]), ARGV_TEXT)
RUN_FORMAT = st.one_of(st.sampled_from(["table", "json", "csv", "codecarbon"]), ARGV_TEXT)
PERIOD = st.one_of(
    st.sampled_from([MONTH, "2026", "2026-Q3", "2026-13", "1969", "9999-Q4", "2026-02-30"]),
    st.sampled_from(["2026-07-01..2026-09-30", "2026-09-30..2026-07-01", "٢٠٢٦", "2026-q1"]),
    ARGV_TEXT,
)
REPORT_FORMAT = st.one_of(
    st.sampled_from(["json", "csv", "html", "json,csv,html", "", ",", "json,json", "xml"]),
    ARGV_TEXT.filter(lambda t: "pdf" not in t.lower()),
)


NOTHING: st.SearchStrategy[list[str]] = st.just([])


def opt(name: str, value: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return value.map(lambda v: [name, v])


def flag(name: str) -> st.SearchStrategy[list[str]]:
    return st.just([name])


def command(
    path: list[str],
    options: list[st.SearchStrategy[list[str]]],
    positional: st.SearchStrategy[list[str]] = NOTHING,
    *,
    stray: bool = True,
) -> st.SearchStrategy[list[str]]:
    """``path``, then positional arguments and options in any order, and stray tokens."""
    chosen = st.lists(st.one_of(*options), max_size=3)
    tokens = st.lists(st.one_of(ARGV_TEXT, st.sampled_from(["--", "-", "--help", "--x"])))
    parts = st.tuples(positional, chosen, st.lists(tokens, max_size=1 if stray else 0))
    return parts.flatmap(
        lambda p: st.permutations([p[0], *p[1], *p[2]]).map(
            lambda ordered: path + [token for part in ordered for token in part]
        )
    )


DB_OPT = opt("--db", DB)
RUN_META = [
    opt(f"--{key}", NAME)
    for key in ("project", "model", "base-model", "technique", "precision", "phase", "name")
]
COMMANDS = st.one_of(
    command(
        ["runs", "list"],
        [opt("--limit", NUMBER), opt("--status", NAME), opt("--project", NAME),
         opt("--format", RUN_FORMAT), DB_OPT],
    ),
    command(
        ["runs", "show"],
        [opt("--format", RUN_FORMAT), DB_OPT,
         opt("--source", st.one_of(st.just("ledger"), NAME).filter(
             lambda s: s.strip().lower() != "prometheus"))],
        st.one_of(st.sampled_from([RUN, PREFIX]), NAME).map(lambda v: [v]),
    ),
    command(
        ["runs", "export"],
        [opt("--format", RUN_FORMAT), opt("--limit", NUMBER), opt("--project", NAME), DB_OPT],
    ),
    command(
        ["report"],
        [opt("--period", PERIOD), opt("--last", st.sampled_from(["month", "year"]) | NAME),
         opt("--project", NAME), opt("--out", ARGV_TEXT.map(lambda t: OUT + _safe_name(t))),
         opt("--format", REPORT_FORMAT), opt("--as-of", PERIOD), DB_OPT],
        opt("--period", st.just(MONTH)) | NOTHING,  # the period that holds the runs
    ),
    command(["import", "codecarbon"], [DB_OPT], FILE.map(lambda v: [v])),
    command(["sync"], [DB_OPT, opt("--from-stderr", FILE), flag("--legacy-spool")]),
    command(["db", "upgrade"], [DB_OPT]),
    command(
        ["bench"],
        [opt("--config", st.sampled_from([BENCH, BINARY, DEEP, CSV, FOLDER]) | ARGV_TEXT),
         opt("--models", st.sampled_from(["gpt-tiny", "gpt-tiny,gpt-tiny", ","]) | NAME),
         opt("--techniques", st.sampled_from(["baseline", "int8,bf16"]) | NAME),
         opt("--phases", st.sampled_from(["inference", "training"]) | NAME),
         opt("--batch-sizes", st.sampled_from(["1", "1,2", "0", "-1", "1,,2"]) | NUMBER),
         *(opt(f"--{key}", NUMBER) for key in ("repeats", "warmup", "prompt-len",
           "prefill-iters", "decode-tokens", "train-steps", "seed", "threads")),
         opt("--device", st.sampled_from(["cpu", "auto", "cuda"]) | NAME),
         opt("--project", NAME), opt("--workload", NAME), opt("--hf-model", NAME),
         opt("--json", ARGV_TEXT.map(lambda t: OUT + _safe_name(t))),
         flag("--list-workloads"), flag("--no-progress"), DB_OPT],
    ),
    command(["detect"], [opt("--format", st.sampled_from(["table", "json"]) | NAME)]),
    command(
        ["run"],
        [*RUN_META, opt("--tag", st.one_of(NAME, st.tuples(NAME, NAME).map("=".join))),
         opt("--batch-size", NUMBER), opt("--seq-len", NUMBER), DB_OPT],
        stray=False,  # a stray token, or a value read as an option, would become the
    )  # command that runs: no value starts with "-"
    .filter(lambda args: not any(value.startswith("-") for value in args[2::2]))
    .map(lambda args: [*args, "--", "true"]),
)  # fmt: skip


@dataclass
class Place:
    """This test's ledger and files, that the placeholders stand for."""

    folder: Path
    ledger_url: str
    run_id: str
    benches: list[BenchConfig]

    def resolve(self, args: list[str]) -> list[str]:
        files = {
            LEDGER: self.ledger_url,
            RUN: self.run_id,
            PREFIX: self.run_id[:4],
            MONTH: datetime.now(UTC).strftime("%Y-%m"),  # it holds the runs
            CSV: str(self.folder / "emissions.csv"),
            STDERR: str(self.folder / "job.err"),
            FOLDER: str(self.folder),
            MISSING: str(self.folder / "missing.csv"),
            BENCH: str(self.folder / "bench.toml"),
            BINARY: str(self.folder / "binary.toml"),
            DEEP: str(self.folder / "deep.toml"),
        }
        out = [
            str(self.folder / "out" / a[len(OUT) :]) if a.startswith(OUT) else files.get(a, a)
            for a in args
        ]
        if out[0] == "report" and "--format" not in out:
            out += ["--format", "json"]  # the default includes a PDF, seconds each
        return out


HOSTILE_META: dict[str, Any] = {
    "project": "[/]",
    "model": "<script>alert(1)</script>",
    "name": huge("[bold]\x1b[31m"),
    "technique": "\x1b]0;pwned\x07",
    "tags": {"[/]": "\x00", "k": huge("é")},
}


@pytest.fixture
def place(tmp_path: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    """A ledger with runs of hostile metadata, and files for the file options."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenAIWarning)
        for extra in ({}, {"phase": "[link=x]y"}):
            with greenai.track(db_url=ledger_url, **HOSTILE_META, **extra) as run:
                run.add_tokens(output=3)
                run.log_metric("[/]\x1b[2J", 1.0)
    (tmp_path / "emissions.csv").write_text(csv_text([row(0), row(1, project_name="[/]")]))
    (tmp_path / "job.err").write_text("greenai: unsaved {not json\n" + huge("x") + "\n")
    (tmp_path / "bench.toml").write_text('[bench]\nmodels = ["gpt-tiny"]\nrepeats = 1\n')
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00[bench]\n" + bytes(range(256)))
    (tmp_path / "deep.toml").write_text("models = " + "[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "out").mkdir()
    benches: list[BenchConfig] = []

    def stand_in(config: BenchConfig, **_: Any) -> Any:
        benches.append(config)
        raise typer.Exit(0)

    monkeypatch.setattr("greenai.bench.runner.run_bench", stand_in)
    yield Place(tmp_path, ledger_url, run.id, benches)


def assert_shown_as_text(outcome: Outcome) -> None:
    """A run table from the ledger's hostile text: no terminal escape reaches stdout
    (exports are data: JSON escapes control characters, CSV keeps them as they are)."""
    shown = "table"
    for option, value in zip(outcome.args, outcome.args[1:], strict=False):
        shown = value if option == "--format" else shown
    if outcome.exit_code == 0 and outcome.args[:2] in (("runs", "list"), ("runs", "show")):
        assert shown != "table" or "\x1b" not in outcome.stdout, outcome.stdout[:2000]


@pytest.mark.fuzz_target("CLI arguments")
@fuzz_settings(ci=80, full=800)
@given(args=COMMANDS)
@example(args=["runs", "list"])  # a project named "[/]" raised rich's MarkupError
@example(args=["runs", "show", RUN])
@example(args=["runs", "list", "--project", "\udc80"])  # byte 0x80: UnicodeEncodeError
@example(args=["runs", "show", "\udcff"])
@example(args=["runs", "list", "--db", "sqlite:///\x00"])  # NUL: ValueError from sqlite
@example(args=["bench", "--config", BINARY])  # not UTF-8: UnicodeDecodeError escaped
@example(args=["bench", "--config", BENCH])
@example(args=["report", "--period", MONTH, "--format", "json,csv,html"])
@example(args=["report", "--period", MONTH, "--out", "0" * 5000])  # stat(): name too long
@example(args=["report", "--period", MONTH, "--out", "a\x00b"])
@example(args=["report", "--period", MONTH, "--project", "\udc80", "--format", "json"])
def test_generated_arguments_work_or_are_refused_without_a_traceback(
    place: Place, fuzz_count: FuzzCount, args: list[str]
) -> None:
    """The examples share one ledger and folder: runs that ``run`` and ``import`` add,
    and report folders, stay for the next examples, as on a user's machine."""
    fuzz_count.tried()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenAIWarning)
        outcome = invoke(place.resolve(args))
    event(f"{args[0]}: exit {outcome.exit_code}")
    assert_handled(outcome, max_error_lines=6 if args[0] == "import" else 1)
    assert_shown_as_text(outcome)
    if args == ["bench", "--config", BENCH]:
        assert outcome.exit_code == 0 and place.benches[-1].models == ("gpt-tiny",)
