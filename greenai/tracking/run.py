"""A tracked run: start, work done, windows, stop, and its totals."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from greenai.figures import flags as fl
from greenai.figures.definitions import j_per_token_or_none
from greenai.figures.units import emissions_kg
from greenai.ledger.limits import (
    BIGINT_MAX,
    INT_MAX,
    INT_MIN,
    METRIC_NAME_CHARS,
    WINDOW_NAME_CHARS,
    OutOfRangeError,
    brief,
    fit_text,
    metric_value,
    step_value,
    whole_count,
)
from greenai.tracking.accounting import (
    Charge,
    charges_of,
    energy_by_kind,
    measured_energy_j,
)
from greenai.tracking.hub import Hub
from greenai.tracking.meta import RunMeta
from greenai.tracking.remote import RemoteRun
from greenai.tracking.shares import gpu_rule
from greenai.tracking.spans import Span
from greenai.tracking.window import Window

log = logging.getLogger(__name__)

FINAL_WRITE_WAIT_S = 2.0


class GreenAIWarning(UserWarning):
    """A misuse during a run: warned about and flagged on the run, never raised."""


def _added(total: int, count: int | None) -> tuple[int, bool]:
    """``total + count`` held at the ledger's maximum, and whether it was held."""
    new = total + (count or 0)
    return min(new, BIGINT_MAX), new > BIGINT_MAX


class Run:
    """One tracked run. Build it with :func:`greenai.track` or :func:`greenai.start`.

    Attributes:
        id: Run id (hex).
        parent_run_id: The enclosing run's id, for child runs.
        meta: What was run.
        status: created, running, completed, failed or interrupted.
        tokens_input, tokens_output, samples: Work done.
        flags: Data-quality flags.
    """

    def __init__(
        self,
        meta: RunMeta,
        settings: Any,
        factor: Any,
        *,
        parent: Run | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        command: str | None = None,
    ) -> None:
        self.id = run_id or uuid.uuid4().hex
        self.parent = parent
        self.parent_run_id = parent.id if parent is not None else parent_run_id
        self.meta = meta
        self.settings = settings
        self.factor = factor
        self.command = command
        self.status = "created"
        self.tokens_input = 0
        self.tokens_output = 0
        self.samples = 0
        self.metrics: list[dict[str, Any]] = []
        self.flags: list[str] = list(getattr(factor, "flags", ()))
        self.error: str | None = None
        self.exit_code: int | None = None
        self.root_span: Span = Span(
            name=meta.name or "run", parent=parent.root_span if parent is not None else None
        )
        self.hub: Hub | None = None
        self.windows: list[Window] = []
        self._active_windows: list[Window] = []
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self.forked_away = False
        self.remote: RemoteRun | None = None  # a parent ``greenai run``: tokens go there too
        self.finisher: Callable[[Run, str, BaseException | None], object] | None = None
        for note in meta.notes:  # metadata fitted to the ledger's columns
            self.misuse(fl.TEXT_CLEANED, note)

    # -- lifecycle -------------------------------------------------------------

    def now_s(self) -> float:
        """The monotonic clock the run's spans are timed on, s."""
        return self.hub.clock.monotonic() if self.hub is not None else time.monotonic()

    def mark_running(self, hub: Hub | None) -> None:
        """Start measuring on ``hub`` (None: unmeasured); called by the tracker at start."""
        self.hub = hub
        self.status = "running"
        if hub is not None:
            try:
                hub.set_attribution_environ(self.gpu_environ(len(hub.gpu_ids())))
                hub.begin(self.root_span)
                return
            except Exception as exc:  # monitoring must never stop the job
                self.flag(fl.monitoring_error(exc))
                self.hub = None
        self.root_span.start_s = self.now_s()
        self.root_span.started_at = datetime.now(UTC)

    def mark_stopped(self, status: str) -> None:
        """Close open windows and the run's span; called by the tracker at stop."""
        with self._lock:
            for window in reversed(self._active_windows):
                self.close_window(window)
            span = self.root_span
            if self.hub is not None:
                try:
                    self.hub.end(span)
                except Exception as exc:  # monitoring must never change the outcome
                    self.flag(fl.monitoring_error(exc))
            if span.end_s is None:
                span.end_s = max(self.now_s(), span.start_s or 0.0)
                started = span.started_at or datetime.now(UTC)
                span.ended_at = started + timedelta(seconds=span.duration_s(span.end_s))
            self.status = status
            self._stopped.set()

    @property
    def lock(self) -> threading.RLock:
        """Held while the run's work done, windows or metrics change (and while its
        record is made from them)."""
        return self._lock

    @property
    def stopped(self) -> bool:
        """Whether the run has stopped."""
        return self._stopped.is_set()

    def stop(self, status: str = "completed", *, error: BaseException | None = None) -> Run:
        """Stop the run and write its final record (idempotent).

        Args:
            status: completed, failed or interrupted.
            error: The exception that ended the run, if any (its type and message are kept).
        """
        if self.finisher is not None:  # set by the tracker that started it
            self.finisher(self, status, error)
        elif not self.stopped:
            self.mark_stopped(status)
        return self

    def settle(self) -> None:
        """Charge the run up to now, so that its figures are current mid-run (an
        integration's logging step) rather than as of the last series tick. Never
        raises: a monitoring failure is a flag."""
        if self.hub is None or self.stopped:
            return
        try:
            self.hub.settle()
        except Exception as exc:  # never harm the job
            self.flag(fl.monitoring_error(exc))

    # -- work done ---------------------------------------------------------------

    def flag(self, flag: str) -> None:
        """Add a data-quality flag to the run, once."""
        if flag not in self.flags:
            self.flags.append(flag)

    def misuse(self, flag: str, message: str) -> None:
        """A misuse during the run: a :class:`GreenAIWarning` and a flag, never a raise."""
        warnings.warn(f"greenai: {message}", GreenAIWarning, stacklevel=3)
        self.flag(flag)

    def _count(self, name: str, value: object) -> int | None:
        try:
            return whole_count(value)
        except OutOfRangeError:
            self.misuse(
                fl.OUT_OF_RANGE,
                f"{name}={brief(value)} ignored: the ledger holds counts up to {BIGINT_MAX}",
            )
        except ValueError:
            self.misuse(
                fl.INVALID_COUNT, f"{name}={brief(value)} ignored: expected a whole number >= 0"
            )
        return None

    def _late(self, what: str) -> bool:
        if self.stopped:
            self.misuse(fl.LATE_UPDATE, f"{what} after the run stopped is ignored")
            return True
        return False

    def add_tokens(self, input: object = 0, output: object = 0) -> None:
        """Count tokens processed (input: prompt/context, output: generated or trained on).

        Counts are whole numbers from 0 to 2**63-1 (ints, whole floats, numpy or torch
        integers). Anything else is a warning and a flag, never an exception: a
        negative or non-integer count is ignored (``invalid_count``), a larger one too
        (``value_out_of_range``), and a total that would pass 2**63-1 is held there
        (``value_out_of_range``).
        """
        if self._late("add_tokens"):
            return
        n_in, n_out = self._count("input", input), self._count("output", output)
        held = False
        with self._lock:
            for holder in self._token_holders():
                holder.tokens_input, held_in = _added(holder.tokens_input, n_in)
                holder.tokens_output, held_out = _added(holder.tokens_output, n_out)
                held = held or held_in or held_out
        if held:
            self.misuse(fl.OUT_OF_RANGE, f"token total held at {BIGINT_MAX}, the ledger's maximum")

    def add_samples(self, n: object) -> None:
        """Count units of work that are not tokens (images, requests); checked as
        :meth:`add_tokens` checks counts."""
        if self._late("add_samples"):
            return
        count = self._count("samples", n)
        held = False
        with self._lock:
            for holder in self._token_holders():
                holder.samples, held_now = _added(holder.samples, count)
                held = held or held_now
        if held:
            self.misuse(fl.OUT_OF_RANGE, f"sample total held at {BIGINT_MAX}, the ledger's maximum")

    def _token_holders(self) -> list[Any]:
        holders: list[Any] = [self, *self._active_windows]
        parent = self.parent
        while parent is not None:
            holders.append(parent)
            parent = parent.parent
        return holders

    def log_metric(self, name: str, value: object, step: int | None = None) -> None:
        """Record a quality metric (perplexity, accuracy) for trade-off charts.

        ``name`` is a non-empty string of at most 200 characters (longer ones are cut,
        NUL becomes U+FFFD: ``text_cleaned``); ``value`` a finite number (ints, floats,
        numpy or torch scalars); ``step`` None or a whole number within 32 bits. A
        misuse is a warning and a flag, never an exception: a value that is not a
        number is ignored (``invalid_metric``), one beyond a double or infinite too
        (``value_out_of_range``); a bad step is dropped and the value kept.
        """
        if self._late("log_metric"):
            return
        if not isinstance(name, str) or not name:
            self.misuse(fl.INVALID_METRIC, f"metric name {brief(name)} ignored: expected a string")
            return
        name, changed = fit_text(name, METRIC_NAME_CHARS)
        if changed:
            self.misuse(fl.TEXT_CLEANED, f"metric name changed to fit the ledger: {changed}")
        shown = f"metric {brief(name)}={brief(value)}"
        try:
            number = metric_value(value)
        except OutOfRangeError:
            self.misuse(fl.OUT_OF_RANGE, f"{shown} ignored: the ledger holds finite doubles only")
            return
        except ValueError:
            self.misuse(fl.INVALID_METRIC, f"{shown} ignored: expected a number")
            return
        with self._lock:
            self.metrics.append(
                {
                    "name": name,
                    "value": number,
                    "step": self._step(shown, step),
                    "logged_at": datetime.now(UTC),
                }
            )

    def _step(self, shown: str, step: object) -> int | None:
        try:
            return step_value(step)
        except OutOfRangeError:
            self.misuse(
                fl.OUT_OF_RANGE,
                f"{shown}: step {brief(step)} dropped (beyond {INT_MIN}..{INT_MAX})",
            )
        except ValueError:
            self.misuse(
                fl.INVALID_METRIC, f"{shown}: step {brief(step)} dropped: expected a whole number"
            )
        return None

    # -- windows ---------------------------------------------------------------

    def window(self, name: str, *, steady_state: bool = False) -> Window:
        """A named sub-interval with its own energy and tokens; nesting allowed.

        ``steady_state=True`` marks a window that keeps ramp-up and drain outside it:
        comparisons then take its energy per token as the workload's figure (never
        guessed from a name)."""
        parent = self._active_windows[-1] if self._active_windows else None
        if not isinstance(name, str):
            self.misuse(
                fl.TEXT_CLEANED, f"window name {brief(name)} is not a string: its repr kept"
            )
            name = brief(name)
        name, changed = fit_text(name, WINDOW_NAME_CHARS)
        if changed:
            self.misuse(fl.TEXT_CLEANED, f"window name changed to fit the ledger: {changed}")
        return Window(self, name, parent, steady_state=bool(steady_state))

    def open_window(self, window: Window) -> None:
        """Start measuring a window of this run (its ``__enter__``)."""
        if self._late(f"window {window.name!r}"):
            return
        with self._lock:
            if self.hub is not None:
                try:
                    self.hub.begin(window.span)
                except Exception as exc:  # never harm the job
                    self.flag(fl.monitoring_error(exc))
            self.windows.append(window)
            self._active_windows.append(window)

    def close_window(self, window: Window) -> None:
        """Stop measuring a window of this run (its ``__exit__``; idempotent)."""
        with self._lock:
            if window.closed or window not in self._active_windows:
                return
            window.closed = True
            if self.hub is not None:
                try:
                    self.hub.end(window.span)
                except Exception as exc:  # never harm the job
                    self.flag(fl.monitoring_error(exc))
            self._active_windows.remove(window)

    # -- accounting ---------------------------------------------------------------

    def gpu_environ(self, gpu_count: int) -> Mapping[str, str]:
        """Where the GPU fallback rules read ``LOCAL_RANK`` from."""
        del gpu_count
        return os.environ

    @property
    def attribution(self) -> str:
        """How GPUs were charged: compute-processes, local-rank, visible-devices or none."""
        return gpu_rule(self.charges())

    def charges(self) -> list[Charge]:
        """Energy charged to the run per device, with how each share was decided."""
        return charges_of(self.root_span, self.hub.lock if self.hub is not None else None)

    @property
    def duration_s(self) -> float:
        """Wall-clock duration, s (monotonic)."""
        return self.root_span.duration_s(self.now_s())

    @property
    def energy_j(self) -> float:
        """IT energy charged to the run, J."""
        return sum(c.energy_j for c in self.charges())

    @property
    def pue(self) -> float:
        """Power usage effectiveness applied."""
        return float(getattr(self.settings, "pue", 1.0) or 1.0)

    @property
    def facility_energy_j(self) -> float:
        """Facility energy (IT x PUE), J: what the grid supplied."""
        return self.energy_j * self.pue

    @property
    def energy_by_kind(self) -> dict[str, dict[str, float | str]]:
        """``{"gpu": {"energy_j": .., "method": ..}, "cpu": .., "dram": ..}``."""
        return energy_by_kind(self.charges())

    @property
    def measured_energy_j(self) -> float:
        """IT energy measured by hardware rather than estimated, J."""
        return measured_energy_j(self.charges())

    @property
    def intensity_g_per_kwh(self) -> float:
        """Emission factor applied, gCO2e per kWh of facility energy."""
        return float(self.factor.intensity_g_per_kwh)

    @property
    def intensity_source(self) -> str:
        """Where the emission factor comes from."""
        return str(self.factor.source)

    @property
    def emissions_kg(self) -> float:
        """Location-based emissions, kgCO2e (facility energy x factor)."""
        return emissions_kg(self.facility_energy_j, self.intensity_g_per_kwh)

    @property
    def j_per_output_token(self) -> float | None:
        """IT energy divided by output tokens, J; None without output tokens."""
        return j_per_token_or_none(self.energy_j, self.tokens_output)

    @property
    def j_per_token(self) -> float | None:
        """IT energy divided by all tokens (input + output), J."""
        total = self.tokens_input + self.tokens_output
        return self.energy_j / total if total else None

    def to_dict(self) -> dict[str, Any]:
        """Every figure of the run, with the field names of the ledger and JSON exports."""
        from greenai.tracking.record import run_to_dict

        return run_to_dict(self)

    def __repr__(self) -> str:
        return (
            f"Run(id={self.id!r}, status={self.status!r}, energy_j={self.energy_j:.3f}, "
            f"tokens_output={self.tokens_output})"
        )
