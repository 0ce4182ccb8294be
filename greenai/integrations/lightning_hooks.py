"""The hooks of greenai's Lightning callback, for either package (``lightning.pytorch``,
``pytorch_lightning``): the trainer is used through its public attributes (and, where
present, its logger connector's decision of whether this step is written), so the same
code serves both (:mod:`greenai.integrations.lightning` and
:mod:`greenai.integrations.lightning_pl` add the package's ``Callback`` base).

- One run per entry point (``Trainer.fit``, ``validate``, ``test``, ``predict``), started at
  ``setup`` and stopped at ``teardown``, or at ``on_exception`` with the exception (failed;
  a KeyboardInterrupt: interrupted). Inside an open greenai run (``with greenai.track():``
  around several trainer calls) each is a child run of it.
- Each stage is a window of the run named after it (``fit``, ``validate``, ``test``,
  ``predict``); validation during fit, sanity check included, is a ``validate`` window
  inside the ``fit`` window.
- Tokens of every batch (``tokens=``, else a dict batch's attention mask).
- At the trainer's logging steps of training, the job's figures so far through
  ``pl_module.log``; at the end, its totals and their sources to every logger, from
  global rank zero.

Never harms the training: every hook is guarded, and a failure is a warning and a flag
on the run. Only a configuration mistake raises, when the run starts (``setup``). Under
several ranks, the steps that gather the ranks' figures (a logging step, the end) reach
their collective on every rank whatever failed before it, so no rank is left waiting.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

from greenai.errors import ConfigError
from greenai.figures import flags as fl
from greenai.figures.logged import tracker_tags
from greenai.integrations.lightning_figures import (
    gather_rows,
    job_figures,
    log_step_figures,
    log_totals,
    rank_row,
    running_record,
)
from greenai.integrations.lightning_meta import check_options, run_options, stage_name
from greenai.integrations.lightning_tokens import (
    INPUT,
    STAGE_KINDS,
    TokensHook,
    TokenTally,
    attention_mask_tokens,
    split_count,
)
from greenai.tracking.api import start
from greenai.tracking.run import GreenAIWarning, Run
from greenai.tracking.window import Window

_Hook = TypeVar("_Hook", bound=Callable[..., None])


def guarded(hook: _Hook) -> _Hook:
    """A hook that never raises into the trainer: a failure is a warning and a flag."""

    @functools.wraps(hook)
    def wrapper(self: GreenAIHooks, *args: Any, **kwargs: Any) -> None:
        try:
            hook(self, *args, **kwargs)
        except Exception as exc:  # never harm the training
            self.problem(f"{hook.__name__} failed: {exc!r}", fl.monitoring_error(exc))

    return cast(_Hook, wrapper)


def logs_now(trainer: Any) -> bool:
    """Whether greenai's figures are logged at this training batch: at the steps the
    trainer writes its loggers (a value logged at any other step would be written
    again, stale, at the next write). Several ranks decide from the global step alone,
    the same on each, since a collective follows."""
    every = int(getattr(trainer, "log_every_n_steps", 0) or 0)
    if every <= 0 or not getattr(trainer, "loggers", None):
        return False
    aligned = int(trainer.global_step) % every == 0
    if int(getattr(trainer, "world_size", 1) or 1) > 1:
        return aligned
    connector = getattr(trainer, "_logger_connector", None)
    decided = getattr(connector, "should_update_logs", None)
    return decided if isinstance(decided, bool) else aligned


def job_id(run: Run) -> str:
    """The id of the job's row: the job's for a rank's part, else the run's."""
    rank = getattr(run, "rank", None)
    return str(getattr(rank, "job_id", None) or run.id)


class GreenAIHooks:
    """greenai's Lightning hooks (see the module's docstring).

    Args:
        tokens: A batch -> its tokens: a count, ``(input, output)`` or ``{"input": ..,
            "output": ..}``; a count is tokens trained on (output) in training batches
            and tokens read (input) in validation, test and prediction batches. Default:
            the sum of a dict batch's ``attention_mask``. A hook that raises is a
            warning and the run's ``tokens_callback_failed`` flag.
        log_steps: Log the figures so far at the trainer's logging steps of training.
        **options: Keywords of :func:`greenai.start`: metadata (``project``, ``model``
            (default: the LightningModule's class name), ``technique``, ``precision``
            (default: from ``Trainer.precision``), ``phase`` (of the fit; default
            training), ``tags``, ...), per-run settings (``country``, ``pue``, ...) and
            ``parent``.

    Raises:
        TypeError: An unknown keyword.
        greenai.ConfigError: An invalid value, before any trainer runs.

    Attributes:
        run: The run of the trainer call under way (None between calls).
        last_run: The run of the latest trainer call, also once it has ended.
        stage: The latest call's stage (fit, validate, test, predict).
    """

    TAG_LOGGERS: tuple[type, ...] = ()
    """Logger classes whose runs take tags (MLflow's); set by each package's callback."""

    def __init__(
        self, tokens: TokensHook | None = None, *, log_steps: bool = True, **options: Any
    ) -> None:
        super().__init__()
        if tokens is not None and not callable(tokens):
            raise TypeError(f"tokens= takes a callable (batch -> count), got {tokens!r}")
        check_options(options)
        self.tokens = tokens
        self.log_steps = bool(log_steps)
        self.options: dict[str, Any] = dict(options)
        self.run: Run | None = None
        self.last_run: Run | None = None
        self.stage: str | None = None
        self.tally = TokenTally()
        self._windows: list[Window] = []
        self._warned: set[str] = set()

    # -- problems ------------------------------------------------------------------

    def problem(self, message: str, flag: str | None) -> None:
        """Warn once per message and flag the run (when it is still open)."""
        if flag is not None and self.active is not None:
            self.active.flag(flag)
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(f"greenai: {message}", GreenAIWarning, stacklevel=2)

    @property
    def active(self) -> Run | None:
        """The run of the current trainer call, while it runs."""
        run = self.run
        return run if run is not None and not run.stopped else None

    # -- the run -------------------------------------------------------------------

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Start the run of this trainer call (a configuration mistake raises here)."""
        try:
            self.begin(trainer, pl_module, stage_name(stage))
        except ConfigError:
            raise
        except Exception as exc:  # no run, but the training goes on
            self.problem(f"could not start a run: {exc!r}", None)

    def begin(self, trainer: Any, pl_module: Any, name: str) -> None:
        """Start the run of stage ``name`` (see :meth:`setup`)."""
        if self.run is not None:  # an earlier call that never reached its end
            self.end(trainer, None, gather=False)
        self.stage = name
        kwargs = run_options(
            self.options,
            stage=name,
            lightning_precision=getattr(trainer, "precision", None),
            module_name=type(pl_module).__name__,
        )
        self.run = self.last_run = start(**kwargs)

    @guarded
    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Stop the run; log its totals."""
        self.end(trainer, None, gather=True)

    @guarded
    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        """Stop the run with the exception (failed; KeyboardInterrupt: interrupted)."""
        self.end(trainer, exception, gather=False)

    def end(self, trainer: Any, error: BaseException | None, *, gather: bool) -> None:
        """Stop the run and log the job's totals from global rank zero.

        ``gather``: whether every rank ends here (a normal end), so the ranks' figures
        can be gathered; otherwise (an exception) only a one-process job logs totals.
        """
        run, self.run = self.run, None
        self._windows = []
        record = self.final_record(run, error)
        if not getattr(trainer, "loggers", None):
            return
        if gather:
            rows = gather_rows(trainer, rank_row(record))
        elif int(getattr(trainer, "world_size", 1) or 1) <= 1:
            rows = [rank_row(record)]
        else:
            return  # the ranks' figures cannot be gathered: the ledger holds them
        if record is None or run is None or not getattr(trainer, "is_global_zero", True):
            return
        tags = tracker_tags({**record, "id": job_id(run)})
        for problem in log_totals(trainer, job_figures(rows), tags, self.TAG_LOGGERS):
            self.problem(problem, None)  # the run's final record is written already

    def final_record(self, run: Run | None, error: BaseException | None) -> dict[str, Any] | None:
        """Stop ``run`` (its waiting tokens counted first) and return its final record;
        None without a run or when it cannot be made (a warning: the other ranks still
        get this rank's row of zeros)."""
        if run is None:
            return None
        try:
            self.tally.flush(run if not run.stopped else None)
        except Exception as exc:  # the tokens are lost, the run is not
            self.problem(f"could not count the last tokens: {exc!r}", fl.monitoring_error(exc))
        try:
            run.stop(error=error)
            return run.to_dict()
        except Exception as exc:  # never harm the training
            self.problem(f"could not stop the run: {exc!r}", fl.monitoring_error(exc))
            return None

    # -- windows -------------------------------------------------------------------

    def open_window(self, name: str) -> None:
        """Open the window of a stage, inside the stage that runs it."""
        run = self.active
        if run is not None:
            window = run.window(name)
            run.open_window(window)
            self._windows.append(window)

    def close_window(self, name: str) -> None:
        """Close the innermost open window of that name (its tokens counted first)."""
        run = self.active
        for window in reversed(self._windows):
            if window.name == name:
                self._windows.remove(window)
                if run is not None:
                    self.tally.flush(run)
                    run.close_window(window)
                return

    @guarded
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        """Open the ``fit`` window."""
        self.open_window("fit")

    @guarded
    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        """Close the ``fit`` window."""
        self.close_window("fit")

    @guarded
    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        """Open a ``validate`` window (inside ``fit`` during fit)."""
        self.open_window("validate")

    @guarded
    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Close the ``validate`` window."""
        self.close_window("validate")

    @guarded
    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        """Open the ``test`` window."""
        self.open_window("test")

    @guarded
    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        """Close the ``test`` window."""
        self.close_window("test")

    @guarded
    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        """Open the ``predict`` window."""
        self.open_window("predict")

    @guarded
    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        """Close the ``predict`` window."""
        self.close_window("predict")

    # -- batches -------------------------------------------------------------------

    def count(self, batch: object, kind: str) -> None:
        """Count a batch's tokens (a failing ``tokens=`` hook is a flag, never a raise)."""
        run = self.active
        if run is None:
            return
        hook = self.tokens or attention_mask_tokens
        try:
            n_in, n_out = split_count(hook(batch), kind)
        except Exception as exc:  # the hook's bug must not stop the training
            self.problem(f"tokens= hook failed: {exc!r}", fl.TOKENS_CALLBACK)
            return
        try:
            self.tally.add(run, n_in, n_out)
        except Exception as exc:  # counts that do not add up (tensors on two devices)
            self.problem(f"could not count tokens: {exc!r}", fl.TOKENS_CALLBACK)

    @guarded
    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Count the batch's tokens; at a logging step, log the job's figures so far
        (reached on every rank: counting never raises)."""
        self.count(batch, STAGE_KINDS["fit"])
        if self.log_steps and logs_now(trainer):
            self.log_step(trainer, pl_module)

    def log_step(self, trainer: Any, pl_module: Any) -> None:
        """Log the job's figures so far (every rank calls it at the same steps)."""
        run = self.active
        record = None
        if run is not None:
            try:
                self.tally.flush(run)
                run.settle()
                record = running_record(run)
            except Exception as exc:  # this rank logs zeros; the others go on
                self.problem(f"could not read the run's figures: {exc!r}", fl.monitoring_error(exc))
        rows = gather_rows(trainer, rank_row(record))
        if run is None and len(rows) == 1:
            return
        try:
            log_step_figures(pl_module, job_figures(rows))
        except Exception as exc:  # never harm the training
            self.problem(f"could not log greenai's figures: {exc!r}", fl.TRACKER_LOG_FAILED)

    @guarded
    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Count the batch's tokens (read: input)."""
        self.count(batch, INPUT)

    @guarded
    def on_test_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Count the batch's tokens (read: input)."""
        self.count(batch, INPUT)

    @guarded
    def on_predict_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Count the batch's tokens (read: input)."""
        self.count(batch, INPUT)
