"""The report's files: the expected figures in every format, byte-for-byte reproducibility,
the command line, and the PDF read back as text and rendered to images."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from greenai.reports import report as make_report
from tests.reports.seed import EXPECTED, EXPECTED_COST, EXPECTED_MIX

AS_OF = "2026-10-05T00:00:00Z"
REPRODUCIBLE = ("report.json", "summary.csv", "runs.csv")
ALL_FILES = ["manifest.json", "report.html", "report.json", "report.pdf", "runs.csv",
             "summary.csv"]  # fmt: skip
HEADLINE_TEXT = {  # each figure in a unit that fits it, three significant digits
    "energy_facility_kwh": "39.9 MWh",
    "scope2_location_tco2e": "6.81 tCO2e",  # 6.808796 t
    "scope2_market_tco2e": "6.16 tCO2e",  # 6.160094 t
    "scope3_cloud_tco2e": "244 kgCO2e",  # 0.244 t
    "measured_share": f"{EXPECTED['measured_share'] * 100:.1f} %",
    "scope2_market_basis": "contractual_or_supplier + location_based_proxy",
    "energy_it_kwh": "32.1",  # MWh, the unit of its column
    # The ESRS mapping: the datapoints in the units ESRS asks for, exactly as report.json.
    "esrs_scope2_location_tco2e": f"{EXPECTED['scope2_location_tco2e']}",
}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenai.cli.main", "report", *args],
        cwd=cwd, capture_output=True, text=True, env=dict(os.environ), timeout=120,
    )  # fmt: skip


def summary(path: Path) -> dict[tuple[str, str, str], str]:
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return {(r["section"], r["group"], r["metric"]): r["value"] for r in rows}


@pytest.fixture
def written(seeded_url: str, tmp_path: Path):
    return make_report("2026-Q3", as_of=AS_OF, db_url=seeded_url, out_dir=tmp_path / "out")


def test_every_file_is_written(written) -> None:
    assert sorted(written.files) == ALL_FILES
    assert sorted(p.name for p in written.out_dir.iterdir()) == ALL_FILES


def test_json_figures(written) -> None:
    data = json.loads((written.out_dir / "report.json").read_text(encoding="utf-8"))
    for key, value in EXPECTED.items():
        assert data[key] == value, key
    assert data["cost"] == EXPECTED_COST
    for key, value in EXPECTED_MIX.items():
        assert data["energy_mix"][key] == value, key
    assert data == written.report
    assert "generated" not in json.dumps(data)


def test_csv_figures(written) -> None:
    values = summary(written.out_dir / "summary.csv")
    assert values[("total", "", "energy_it_kwh")] == "32100"
    assert values[("total", "", "energy_facility_kwh")] == "39900"
    assert values[("total", "", "energy_facility_mwh")] == "39.9"
    for key in ("scope2_location_tco2e", "scope2_market_tco2e", "measured_share",
                "kwh_per_million_tokens"):  # fmt: skip
        assert float(values[("total", "", key)]) == EXPECTED[key], key
    assert values[("total", "", "scope3_cloud_tco2e")] == "0.244"
    assert values[("total", "", "scope2_market_basis")] == EXPECTED["scope2_market_basis"]
    assert values[("total", "", "runs_count")] == "7"
    assert values[("total", "", "tokens")] == "5800000000"
    assert values[("total", "", "cost")] == "7980"
    assert float(values[("energy_mix", "fossil", "energy_kwh")]) == EXPECTED_MIX["fossil_kwh"]
    assert values[("by_project", "chat", "energy_it_kwh")] == "22000"
    assert values[("by_model_technique", "llama-8b / int8", "kwh_per_million_tokens")] == "2.5"
    assert values[("previous_period", "2026-Q2", "energy_it_kwh")] == "8000"
    assert values[("previous_year", "2025-Q3", "energy_it_kwh")] == "1000"
    assert values[("data_quality", "unknown_location", "runs_count")] == "1"
    runs = list(csv.DictReader(io.StringIO((written.out_dir / "runs.csv").read_text())))
    assert [r["run_id"] for r in runs] == [r["run_id"] for r in written.report["runs"]]
    r4 = runs[-1]
    assert (r4["run_id"], r4["share_in_period"], r4["split_method"]) == (
        "r4-usa", "0.75", "power_series",
    )  # fmt: skip
    assert (r4["energy_it_kwh"], r4["energy_facility_kwh"]) == ("6000", "6600")
    assert sum(float(r["energy_it_kwh"]) for r in runs if r["scope"] == "scope2") == 28_100


def test_html_figures(written) -> None:
    html = (written.out_dir / "report.html").read_text(encoding="utf-8")
    for key, text in HEADLINE_TEXT.items():
        assert text in html, key
    assert "<script" not in html
    assert html.count("<svg") >= 3


def test_manifest(written) -> None:
    manifest = json.loads((written.out_dir / "manifest.json").read_text())
    assert manifest["inputs_sha256"] == written.report["inputs_sha256"]
    assert manifest["as_of"] == AS_OF
    assert "generated_at" in manifest
    assert sorted(manifest["files"]) == [f for f in ALL_FILES if f != "manifest.json"]
    import hashlib

    for name, entry in manifest["files"].items():
        digest = hashlib.sha256((written.out_dir / name).read_bytes()).hexdigest()
        assert entry["sha256"] == digest, name


def test_byte_identical_for_the_same_ledger_period_and_as_of(
    seeded_url: str, tmp_path: Path, seeded_file: Path
) -> None:
    first = make_report("2026-Q3", as_of=AS_OF, db_url=seeded_url, out_dir=tmp_path / "a",
                        formats=("json", "csv"))  # fmt: skip
    # Another copy of the ledger, another process (the command line), another folder.
    other = tmp_path / "other.db"
    shutil.copyfile(seeded_file, other)
    done = cli("--period", "2026-Q3", "--as-of", AS_OF, "--db", f"sqlite:///{other}",
               "--format", "json,csv", "--out", str(tmp_path / "b"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for name in REPRODUCIBLE:
        assert (first.out_dir / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # A later as-of (r8 written in between) changes the figures and the inputs' hash.
    later = make_report("2026-Q3", as_of="2026-10-07", db_url=seeded_url,
                        out_dir=tmp_path / "c", formats=("json",))  # fmt: skip
    assert (later.out_dir / "report.json").read_bytes() != (
        first.out_dir / "report.json"
    ).read_bytes()
    assert later.report["inputs_sha256"] != first.report["inputs_sha256"]


def test_command_line(seeded_url: str, tmp_path: Path) -> None:
    done = cli("--period", "2026-Q3", "--as-of", AS_OF, "--db", seeded_url,
               "--format", "json", "--project", "chat", "--project", "search",
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = tmp_path / "greenai-report-2026-Q3"
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "report.json"]
    assert "6 root run(s)" in done.stdout
    assert json.loads((out / "report.json").read_text())["projects_filter"] == ["chat", "search"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--period", "2026-Q5"), "invalid period='2026-Q5': a quarter Q1 to Q4"),
        (("--period", "2026-13"), "a month 01 to 12"),
        (("--period", "2026-10-02..2026-09-01"), "first day is on or before its last"),
        (("--period", "2024-Q1"), "no root runs in 2024-Q1 (2024-01-01 to 2024-03-31, UTC)"),
        (("--last", "week"), "invalid last='week': month, quarter or year"),
        ((), "give --period"),
        (("--period", "2026-Q3", "--format", "docx"), "invalid format='docx'"),
        (("--period", "2026-Q3", "--as-of", "soon"), "invalid as_of='soon'"),
    ],
)
def test_command_line_errors_are_one_clear_line(
    seeded_url: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = cli(*args, "--db", seeded_url, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("greenai-report-*"))


def test_missing_ledger_is_not_created(tmp_path: Path, report_env: None) -> None:
    done = cli("--last", "quarter", "--db", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    assert done.returncode == 2
    assert "no ledger at" in done.stderr
    assert not (tmp_path / "none.db").exists()


def test_pdf_text_and_pages(written, tmp_path: Path) -> None:
    pdf = written.out_dir / "report.pdf"
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        pytest.fail("poppler-utils (pdftotext, pdftoppm) must be installed for this test")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    for key, expected in HEADLINE_TEXT.items():
        assert expected in text, key
    assert "Energy and emissions of AI workloads" in text
    assert "ESRS E1-5" in text and "ESRS E1-6" in text
    assert "Appendix: runs included" in text and "r4-usa" in text
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    first_page = reader.pages[0].extract_text()
    assert HEADLINE_TEXT["scope2_location_tco2e"] in first_page
    assert HEADLINE_TEXT["energy_facility_kwh"] in first_page
    pages = tmp_path / "pages"
    pages.mkdir()
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(pages / "page")], check=True)
    images = sorted(pages.glob("page-*.png"))
    assert len(images) == len(reader.pages) >= 5
    assert all(image.stat().st_size > 5_000 for image in images)  # not blank pages
    keep = os.environ.get("GREENAI_KEEP_REPORT_PAGES")
    if keep:  # to look at the pages by eye
        shutil.copytree(pages, keep, dirs_exist_ok=True)


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_inputs_hash_is_recomputed_from_the_shipped_csv_files(written) -> None:
    # The README's command, as an auditor runs it in the report's folder.
    (recipe,) = [line for line in README.read_text().splitlines() if line.startswith("(cat runs")]
    done = subprocess.run(["bash", "-c", recipe + " | cut -d' ' -f1"], cwd=written.out_dir,
                          capture_output=True, text=True, check=True)  # fmt: skip
    manifest = json.loads((written.out_dir / "manifest.json").read_text())
    assert done.stdout.strip() == manifest["inputs_sha256"] == written.report["inputs_sha256"]


def test_the_inputs_hash_follows_the_figures_not_the_moment_they_were_read(
    seeded_url: str, tmp_path: Path
) -> None:
    first = make_report("2026-Q3", as_of=AS_OF, db_url=seeded_url, out_dir=tmp_path / "a",
                        formats=("csv",))  # fmt: skip
    later = make_report("2026-Q3", as_of="2026-10-05T12:00:00Z", db_url=seeded_url,
                        out_dir=tmp_path / "b", formats=("csv",))  # fmt: skip
    assert later.report["as_of"] != first.report["as_of"]  # nothing written in between
    assert later.report["inputs_sha256"] == first.report["inputs_sha256"]
    assert (tmp_path / "a" / "runs.csv").read_bytes() == (tmp_path / "b" / "runs.csv").read_bytes()
