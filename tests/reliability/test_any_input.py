"""Whatever text and numbers a job hands greenai, the job goes on and its run is kept.

Arbitrary unicode (NUL, lone surrogates, 100 kB strings, HTML, script and rich markup,
terminal escapes; :data:`tests.reliability.fuzz.TEXT`) as the name,
tags, metric names and values, through ``greenai.track`` on SQLite: nothing raises
into the job, and the ledger ends with the run ``completed`` (flagged where something
had to be changed or dropped).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import greenai
from greenai.tracking.run import GreenAIWarning
from tests.reliability.figures import FuzzCount
from tests.reliability.fuzz import TEXT, fuzz_settings
from tests.reliability.helpers import stored

NAME = TEXT.filter(lambda s: bool(s.strip()))  # a blank name fails before the job
VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**5000),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
STEP = st.one_of(st.none(), st.integers(), st.floats(), TEXT)
TAGS = st.dictionaries(TEXT, st.one_of(TEXT, st.integers(), st.floats()), max_size=5)
METRICS = st.lists(st.tuples(st.one_of(TEXT, st.none(), st.integers()), VALUE, STEP), max_size=4)
COUNTS = st.lists(st.one_of(VALUE, st.integers(min_value=0, max_value=2**70)), max_size=4)


@pytest.mark.fuzz_target("metadata and tags")
@fuzz_settings(ci=40, full=400)
@given(name=NAME, tags=TAGS, metrics=METRICS, counts=COUNTS, window=NAME)
def test_any_text_or_number_never_reaches_the_job_and_the_run_is_kept(
    ledger_url: str,
    fuzz_count: FuzzCount,
    name: str,
    tags: dict[str, Any],
    metrics: list[tuple[Any, Any, Any]],
    counts: list[Any],
    window: str,
) -> None:
    fuzz_count.tried()
    finished = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenAIWarning)
        with greenai.track(db_url=ledger_url, name=name, tags=tags) as run:
            for metric, value, step in metrics:
                run.log_metric(metric, value, step=step)
            with run.window(window):
                for count in counts:
                    run.add_tokens(input=count, output=count)
                    run.add_samples(count)
            finished.append(True)
    assert finished == [True]
    row = stored(run.id, ledger_url)["run"]
    assert row["status"] == "completed", row["flags"]
