"""Token counts and metrics beyond what the ledger holds: a warning and a flag, the run kept."""

from __future__ import annotations

import pytest

import greenai
from greenai.tracking.run import GreenAIWarning
from tests.reliability.helpers import stored

OUT_OF_RANGE = "value_out_of_range"
BIGINT_MAX = 2**63 - 1


def test_a_token_count_beyond_bigint_is_dropped_and_the_run_completes(ledger_url: str) -> None:
    with greenai.track(db_url=ledger_url) as run:
        run.add_tokens(input=3, output=5)
        with pytest.warns(GreenAIWarning, match="output=.* ignored"):
            run.add_tokens(output=2**64)
        with pytest.warns(GreenAIWarning, match="samples=.* ignored"):
            run.add_samples(1e300)
    row = stored(run.id, ledger_url)["run"]
    assert row["status"] == "completed"
    assert (row["tokens_input"], row["tokens_output"], row["samples"]) == (3, 5, 0)
    assert OUT_OF_RANGE in row["flags"]


def test_a_total_that_would_pass_bigint_is_held_at_the_maximum(ledger_url: str) -> None:
    with greenai.track(db_url=ledger_url) as run, run.window("decode"):
        run.add_tokens(output=BIGINT_MAX)
        with pytest.warns(GreenAIWarning, match="held at"):
            run.add_tokens(output=1)
    record = stored(run.id, ledger_url)
    assert record["run"]["status"] == "completed"
    assert record["run"]["tokens_output"] == BIGINT_MAX
    assert record["windows"][0]["tokens_output"] == BIGINT_MAX
    assert OUT_OF_RANGE in record["run"]["flags"]


class Count:
    """An integer-like count (as numpy and torch give): it has ``__index__``."""

    def __index__(self) -> int:
        return 7


def test_integer_like_counts_are_counted(ledger_url: str) -> None:
    with greenai.track(db_url=ledger_url) as run:
        run.add_tokens(output=Count())
    assert stored(run.id, ledger_url)["run"]["tokens_output"] == 7


@pytest.mark.parametrize(
    "value",
    [10**400, 10**5000, float("inf"), float("-inf"), -(10**309)],
    ids=["400-digits", "5000-digits", "inf", "-inf", "below-float"],
)
def test_a_metric_beyond_a_float_is_dropped_without_raising(ledger_url: str, value: int) -> None:
    with greenai.track(db_url=ledger_url) as run:
        with pytest.warns(GreenAIWarning, match="'ppl'=.* ignored"):
            run.log_metric("ppl", value)
        run.log_metric("acc", 0.5)
    record = stored(run.id, ledger_url)
    assert record["run"]["status"] == "completed"
    assert [m["name"] for m in record["metrics"]] == ["acc"]
    assert OUT_OF_RANGE in record["run"]["flags"]


@pytest.mark.postgres
@pytest.mark.parametrize("step", [2**40, -(2**40), "seven", 1.5])
def test_a_step_the_column_cannot_hold_is_dropped_and_the_metric_kept(
    pg_ledger: str, step: object
) -> None:
    with greenai.track(db_url=pg_ledger) as run, pytest.warns(GreenAIWarning, match="step"):
        run.log_metric("loss", 0.25, step=step)  # type: ignore[arg-type]
    record = stored(run.id, pg_ledger)
    assert record["run"]["status"] == "completed"
    ((name, value, kept_step),) = [(m["name"], m["value"], m["step"]) for m in record["metrics"]]
    assert (name, value, kept_step) == ("loss", 0.25, None)


@pytest.mark.postgres
def test_a_token_count_beyond_bigint_keeps_the_run_on_postgresql(pg_ledger: str) -> None:
    with greenai.track(db_url=pg_ledger) as run:
        with pytest.warns(GreenAIWarning):
            run.add_tokens(input=2**63)
        run.log_metric("ppl", 3, step=2**31 - 1)
    record = stored(run.id, pg_ledger)
    assert record["run"]["status"] == "completed"
    assert record["metrics"][0]["step"] == 2**31 - 1
