"""The flag registry: every flag minted anywhere is registered, none is spelled outside
greenai/figures, each has its words, and the dashboard and the report count alike."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from greenai.figures import flags as fl
from tests.conftest import REPO

SCANNED = ("greenai", "collectors", "dashboard", "benchmarks")
FIGURES = REPO / "greenai" / "figures"
MINTING_CALLS = {"flag", "misuse"}  # run.flag, span.flag, run.misuse: the flag comes first
# Also minted: what is appended to or added into a ``*flags`` list, or inside a function
# that makes one (``quality_flags``), returned from it, given as ``flags=`` or a
# ``"flags"`` entry, or bound to a name with "flag" in it.
NOT_FLAGS = {
    "interrupted": "a run status as well (signals, lifecycle, the ledger's stale runs)",
    "mig": "a CUDA_VISIBLE_DEVICES entry kind (collectors.nvml.visible)",
    "node_energy_on_local_rank_0": "a share rule as well (greenai.tracking.spans)",
}
"""Strings that are registered codes but, where they appear outside the registry, mean
something else: what they mean there."""
MAKER_SAMPLES = {
    "estimated": ("cpu",),
    "attribution": ("compute-processes",),
    "collector_errors": ("nvml", 3),
    "monitoring_error": (OSError("x"),),
    "lost_device": ("gpu:1",),
    "bridged": ("gpu:0",),
    "counter_reset": ("gpu:0",),
    "stale_heartbeat": (datetime(2026, 7, 1, 10, tzinfo=UTC),),
    "rank_ended": ("interrupted", 3),
    "ranks_shared_device": ("h1", "gpu:0"),
    "ranks_missing": (2,),
    "imported": ("codecarbon",),
    "method_unknown": ("cpu",),
}
NOT_MAKERS = {"describe", "group_flags", "caveats", "has_location"}


@dataclass(frozen=True)
class Minted:
    """An expression that becomes a flag, where the source mints it."""

    path: str
    line: int
    kind: str  # literal | constant | registry | other
    text: str


def _sources() -> Iterator[Path]:
    for package in SCANNED:
        for path in sorted((REPO / package).rglob("*.py")):
            if path != FIGURES / "flags.py":  # the registry itself
                yield path


def _registry_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(aliases of the flags module, names imported from it) in one module."""
    modules, names = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "greenai.figures":
            modules |= {a.asname or a.name for a in node.names if a.name == "flags"}
        elif isinstance(node, ast.ImportFrom) and node.module == "greenai.figures.flags":
            names |= {a.asname or a.name for a in node.names}
    return modules, names


def _string_constants(tree: ast.Module) -> set[str]:
    """Module-level names bound to a string literal."""
    found = set()
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        value = node.value
        if isinstance(value, ast.JoinedStr) or (
            isinstance(value, ast.Constant) and isinstance(value.value, str)
        ):
            found |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return found


def _candidates(expr: ast.expr) -> Iterator[ast.expr]:
    """The parts of ``expr`` that end up as flags (list elements, both arms, ...)."""
    if isinstance(expr, ast.List | ast.Tuple | ast.Set):
        for elt in expr.elts:
            yield from _candidates(elt)
    elif isinstance(expr, ast.ListComp | ast.GeneratorExp | ast.SetComp):
        yield from _candidates(expr.elt)
    elif isinstance(expr, ast.IfExp):
        yield from _candidates(expr.body)
        yield from _candidates(expr.orelse)
    elif isinstance(expr, ast.BoolOp):
        for value in expr.values:
            yield from _candidates(value)
    elif not isinstance(expr, ast.Starred | ast.Dict):
        yield expr


def _named_flag(node: ast.AST) -> bool:
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return "flag" in name.lower()


class _Scan(ast.NodeVisitor):
    """Collects every expression minted as a flag in one module."""

    def __init__(self, path: Path, tree: ast.Module) -> None:
        self.path = str(path.relative_to(REPO))
        self.modules, self.names = _registry_names(tree)
        self.constants = _string_constants(tree)
        self.functions: list[str] = []
        self.found: list[Minted] = []

    def _mint(self, expr: ast.expr) -> None:
        for part in _candidates(expr):
            self.found.append(Minted(self.path, part.lineno, self._kind(part), ast.unparse(part)))

    def _kind(self, part: ast.expr) -> str:
        if isinstance(part, ast.Constant | ast.JoinedStr) or (
            isinstance(part, ast.BinOp) and isinstance(part.left, ast.Constant | ast.JoinedStr)
        ):
            return "literal"
        target = part.func if isinstance(part, ast.Call) else part
        owner = target.value if isinstance(target, ast.Attribute) else None
        if isinstance(owner, ast.Name) and owner.id in self.modules:
            return "registry"
        if isinstance(target, ast.Name) and target.id in self.names:
            return "registry"
        if isinstance(part, ast.Name) and part.id in self.constants:
            return "constant"
        return "other"

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    def _in_flag_function(self) -> bool:
        return any(name.lower().endswith("flags") for name in self.functions)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if node.args and isinstance(func, ast.Attribute) and name in MINTING_CALLS:
            self._mint(node.args[0])
        elif node.args and name in ("append", "add", "extend"):
            owner = func.value if isinstance(func, ast.Attribute) else None
            if (owner is not None and _named_flag(owner)) or self._in_flag_function():
                self._mint(node.args[0])
        for keyword in node.keywords:
            if keyword.arg == "flags":
                self._mint(keyword.value)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "flags":
                self._mint(value)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(_named_flag(t) for t in node.targets):
            self._mint(node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if _named_flag(node.target) or self._in_flag_function():
            self._mint(node.value)
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and self._in_flag_function():
            self._mint(node.value)
        self.generic_visit(node)


def _minted() -> list[Minted]:
    found: list[Minted] = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        scan = _Scan(path, tree)
        scan.visit(tree)
        found += scan.found
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    kinds = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds) and node.body and isinstance(node.body[0], ast.Expr)
    }


def _looks_like_a_flag(text: str) -> bool:
    info = fl.describe(text)
    return bool(info.code) and (info.prefixed or text == info.code)


def test_no_flag_is_spelled_outside_the_registry() -> None:
    spelled = [m for m in _minted() if m.kind in ("literal", "constant")]
    assert spelled == [], "import the code or its maker from greenai.figures.flags"


def test_no_registered_code_is_written_out_elsewhere() -> None:
    """Whatever the context: a string that reads as a registered flag (a prefix with its
    suffix included) is the registry's, unless it means something else there."""
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        docs = _docstrings(tree)
        for node in ast.walk(tree):  # an f-string's head is a constant of its own
            if not isinstance(node, ast.Constant) or id(node) in docs:
                continue
            text = node.value
            if isinstance(text, str) and text not in NOT_FLAGS and _looks_like_a_flag(text):
                found.append((str(path.relative_to(REPO)), node.lineno, text))
    assert found == []


def test_every_minted_code_is_registered() -> None:
    minted = [m for m in _minted() if m.kind == "registry"]
    named = {m.text.split("(")[0].split(".")[-1] for m in minted}
    unknown = sorted(n for n in named if not hasattr(fl, n))
    assert unknown == []
    for name in named:
        value = getattr(fl, name)
        if isinstance(value, str):
            assert value in fl.FLAGS, name
        else:
            assert name in MAKER_SAMPLES, f"{name} mints flags: give it a sample here"
    # The scan sees the minting modules (it is not vacuous): one site of each.
    paths = {m.path for m in minted}
    for module in ("greenai/tracking/run.py", "greenai/tracking/lifecycle.py",
                   "greenai/tracking/record.py", "greenai/tracking/spans.py",
                   "greenai/tracking/window.py", "greenai/tracking/remote.py",
                   "greenai/fleet/rank_run.py", "greenai/ledger/job_totals.py",
                   "greenai/ledger/maintenance.py", "greenai/ledger/ranks.py",
                   "greenai/figures/lines.py", "greenai/figures/node.py",
                   "greenai/interop/codecarbon_record.py"):  # fmt: skip
        assert module in paths, module


def test_every_maker_mints_a_registered_prefix() -> None:
    makers = {
        name
        for name, f in inspect.getmembers(fl, inspect.isfunction)
        if f.__module__ == fl.__name__ and not name.startswith("_") and name not in NOT_MAKERS
    }
    assert makers == set(MAKER_SAMPLES), "a new maker needs a sample here"
    for name, args in MAKER_SAMPLES.items():
        made = getattr(fl, name)(*args)
        info = fl.describe(made)
        assert info.prefixed and made.startswith(info.code) and made != info.code, name


def test_every_constant_is_registered_and_every_code_has_a_constant() -> None:
    constants = {v for k, v in vars(fl).items() if k.isupper() and type(v) is str and k[0] != "_"}
    assert constants == set(fl.FLAGS)


def test_every_flag_has_words_severity_and_group() -> None:
    for code, info in fl.FLAGS.items():
        assert info.code == code
        assert info.meaning.strip() and "\n" not in info.meaning, code
        assert not info.meaning.endswith("."), code
        assert info.severity in fl.Severity, code
        assert info.group in fl.GROUPS, code
        if info.prefixed:
            assert code.endswith((":", " ")), code
    for group, words in fl.GROUPS.items():
        assert words.group is group and words.label and words.text
        members = [f for f in fl.FLAGS.values() if f.group is group]
        assert members, f"group {group} has no flag"
        if words.counted:  # what is counted is worth a caveat
            assert {f.severity for f in members} <= {fl.Severity.WARNING, fl.Severity.ERROR}


def test_describe_resolves_exact_prefixed_and_unknown_codes() -> None:
    assert fl.describe("sampling_gaps").group is fl.Group.GAPS
    assert fl.describe("interrupted").code == fl.INTERRUPTED
    stale = fl.stale_heartbeat(datetime(2026, 7, 1, tzinfo=UTC))
    assert fl.describe(stale).code == fl.STALE_HEARTBEAT  # the longest prefix wins
    assert fl.describe("rank_interrupted:1").group is fl.Group.INTERRUPTED
    assert fl.describe("rank_failed:0").group is fl.Group.LIFECYCLE
    assert fl.describe("monitoring_error:OSError").group is fl.Group.DEVICES
    assert fl.describe("no_collector").group is fl.Group.UNMEASURED
    assert fl.describe("a_newer_flag") is fl.UNKNOWN
    assert fl.describe("sampling_gaps_extra") is fl.UNKNOWN  # exact codes are exact


def test_caveats_one_rule() -> None:
    flags = ["collector_errors:nvml=3", "attribution:local-rank", "estimated:cpu"]
    assert fl.caveats(flags) == {fl.Group.DEVICES}  # info flags count nowhere
    assert fl.caveats([], status="interrupted") == {fl.Group.INTERRUPTED}
    assert fl.caveats([], located=False) == {fl.Group.LOCATION}
    assert fl.caveats(["monitoring_error:OSError", "no_collector"]) == {
        fl.Group.DEVICES,
        fl.Group.UNMEASURED,
    }
    assert not fl.has_location(None, float("nan")) and fl.has_location("FRA", None)


def test_the_registry_imports_nothing_heavy() -> None:
    heavy = ("pandas", "sqlalchemy", "streamlit", "pynvml", "codecarbon", "psutil")
    code = (
        "import sys, greenai.figures.flags\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO, timeout=60)  # fmt: skip
    assert done.stdout.strip() == ""


# -- the two surfaces count alike --------------------------------------------------------


def _report_counts(quality: dict[str, object]) -> dict[fl.Group, list[str]]:
    return {g: quality[g.value]["run_ids"] for g in fl.COUNTED}  # type: ignore[index]


def test_dashboard_page_and_report_count_alike(
    ledger_url: str, greenai_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's seed: the Data quality page (last 30 days) and the report of the
    same 30 days count the same runs in every group."""
    import streamlit as st

    from greenai.ledger import Ledger
    from greenai.reports import build_report
    from tests.dashboard.conftest import metrics, open_app
    from tests.dashboard.seed import seed_ledger

    st.cache_data.clear()  # the dashboard's caches live in the process
    st.cache_resource.clear()
    seeded = seed_ledger(ledger_url)
    monkeypatch.setenv("GREENAI_DB_URL", ledger_url)
    first = (seeded.today - timedelta(days=29)).date()
    with Ledger.open(ledger_url) as ledger:
        report = build_report(ledger, f"{first}..{seeded.today.date()}")
    expected = _report_counts(report["data_quality"])
    assert sum(map(len, expected.values())) >= 4  # the seed has caveats to count
    try:
        shown = metrics(open_app("data_quality"))
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
    page = {g: int(shown[fl.GROUPS[g].label][0]) for g in fl.COUNTED}
    assert page == {g: len(ids) for g, ids in expected.items()}


def test_dashboard_query_and_report_count_alike(seeded_url: str) -> None:
    """The report's seed: the dashboard's query on the report's runs finds the same runs
    in every group as the report's data-quality section."""
    from greenai.ledger import Ledger
    from greenai.queries import RunFilter, overview, runs_frame
    from greenai.reports import build_report
    from tests.reports.seed import AS_OF

    with Ledger.open(seeded_url) as ledger:
        report = build_report(ledger, "2026-Q3", as_of=AS_OF)
        runs = runs_frame(ledger, RunFilter(root_only=True))
    ids = {r["run_id"] for r in report["runs"]}
    issues = overview.quality_issues(runs[runs["id"].isin(ids)])
    found = {g: sorted(frame["id"]) for g, frame in issues.items()}
    expected = _report_counts(report["data_quality"])
    assert found == expected
    assert expected[fl.Group.LOCATION] == ["r6-unk"] and expected[fl.Group.GAPS] == ["r4-usa"]
