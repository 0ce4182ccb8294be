"""The Hugging Face Trainer integration: a run per ``train()``, greenai's figures in the
Trainer's logs (and so in every tracker of ``report_to``), resumable totals.

::

    from greenai.integrations.transformers import attach

    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=dev)
    attach(trainer, project="chat", country="FRA", model_card=True)
    trainer.train()

What happens:

- ``train()`` is one run (phase ``training``), started at ``on_train_begin`` and stopped
  at the final log of training (the entry with ``train_loss``; else at
  ``on_train_end``), so the last log entry holds the run's final figures. Evaluation
  and prediction inside ``train()`` are windows of it (``eval``, ``predict``).
  ``evaluate()`` and ``predict()`` outside ``train()`` get runs of their own (phase
  ``evaluation``, ``inference``), whose figures go into the metrics they return.
- Metadata from the model and the arguments (:mod:`greenai.integrations.hf_meta`);
  the keyword options (``project=``, ``model=``, ``technique=``, ``tags=``, any
  configuration key) override it.
- Tokens: training tokens (``output``: trained on) from the Trainer's
  ``state.num_input_tokens_seen`` when ``include_num_input_tokens_seen`` is set and the
  job is one process; otherwise, and under several ranks (the Trainer's count is summed
  over the ranks), each process counts its own batches (their ``attention_mask``,
  :mod:`greenai.integrations.hf_tokens`), so each rank's part holds its own tokens and
  the job's row their sum. Evaluation runs count their batches as ``input``.
- At each logging step the run is settled and :func:`greenai.figures.logged.tracker_figures`
  (``greenai/energy_kwh``, ``greenai/emissions_g``, ...) go into the ``logs`` the
  trackers receive and into the last entry of ``state.log_history``. ``attach`` puts
  the callback first, before the ``report_to`` trackers' callbacks.
- Resume (:mod:`greenai.integrations.hf_resume`): the totals so far are saved in every
  checkpoint; a session resumed from one is a run of its own tagged
  ``resumed_from=<id>``, and its logged figures continue from the checkpoint's totals.
- Several ranks: each rank's run is its part of the job (the ledger's job row sums
  them); each rank puts its own part's figures into its own logs, and only the main
  process's reach the trackers. A checkpoint (written by the main process) carries the
  main process's totals, so after a resume the main process's figures continue from
  them and the other ranks' start from their new parts.
- Failures: ``attach`` wraps the trainer's ``train``, ``evaluate`` and ``predict`` so
  a call that raises ends its run ``failed`` (``interrupted`` for Ctrl-C) with the
  error; the exception goes on unchanged. A bare callback cannot see exceptions: a run
  left open by a failed call is ended, flagged ``ended_after_its_call``, at the next
  call or when the callback is discarded, and at exit greenai marks it interrupted.
  Nothing raised inside greenai reaches the Trainer: it is a warning and the run's
  ``integration_failed`` flag.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from greenai.figures import flags as fl
from greenai.figures.logged import tracker_figures
from greenai.integrations import hf_resume
from greenai.integrations.hf_meta import detect
from greenai.integrations.hf_runs import card_path, link_id, run_id_option, write_card
from greenai.integrations.hf_tokens import TokenCounter
from greenai.tracking.run import GreenAIWarning

log = logging.getLogger(__name__)

CALLS = ("train", "evaluate", "predict")
"""The trainer methods :func:`attach` wraps."""
PHASES = {"train": "training", "evaluate": "evaluation", "predict": "inference"}
WINDOWS = {"evaluate": "eval", "predict": "predict"}
FINAL_TRAIN_LOG_KEYS = frozenset({"train_loss", "train_runtime"})
"""Keys only the final log of ``train()`` has together (``train_runtime`` alone is in
every log when the Trainer counts tokens)."""

_ATTACHED: weakref.WeakSet[GreenAICallback] = weakref.WeakSet()


class _Slot:
    """The run a callback holds, reachable by its finalizer without the callback."""

    def __init__(self) -> None:
        self.run: Any = None


def _end_left_open(slot: _Slot) -> None:
    """End a run its failed call left open (flagged); never raises."""
    run, slot.run = slot.run, None
    if run is None or run.stopped:
        return
    try:
        run.flag(fl.CALL_LEFT_OPEN)
        run.stop("failed")
    except Exception as exc:  # pragma: no cover - stop guards itself
        log.warning("greenai: could not end run %s: %s", run.id, exc)


def _json_safe(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values JSON can hold as they are (a checkpoint's callback arguments)."""
    safe: dict[str, Any] = {}
    for key, value in values.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        safe[key] = value
    return safe


def _validate(options: Mapping[str, Any]) -> None:
    """Raise now on options ``greenai.start`` would refuse (TypeError, ConfigError)."""
    from greenai.config import load_settings
    from greenai.integrations.hf_runs import settings_overrides
    from greenai.tracking.api import track

    if "tokens" in options:
        raise TypeError("tokens= does not apply: the callback counts the Trainer's tokens")
    track(**options)
    load_settings(settings_overrides(options))


class GreenAICallback(TrainerCallback, ExportableState):
    """Records the Trainer's calls as greenai runs (see the module's docstring).

    Args:
        model_card: True (``<output_dir>/README.md``) or a path: at the end of training
            the main process writes the run's energy and emissions into that model
            card (:func:`greenai.reports.model_card_file.write_model_card`).
        **options: ``greenai.start`` keywords (metadata and configuration keys); they
            override what is read from the model and the arguments.

    Raises:
        TypeError: An unknown keyword (the message lists the valid ones).
        greenai.ConfigError: An invalid value, before training starts.
    """

    def __init__(
        self,
        *,
        model_card: bool | str | os.PathLike[str] = False,
        **options: Any,
    ) -> None:
        _validate(options)
        self.options = dict(options)
        self.model_card: bool | str = (
            model_card if isinstance(model_card, bool) else os.fspath(model_card)
        )
        self.slot = _Slot()
        self.kind: str | None = None  # the call the run measures: train, evaluate, predict
        self.window: Any = None
        self.previous: dict[str, Any] | None = None  # totals this process's run continues
        self.resumed_from: str | None = None  # the run (or job) the checkpoint came from
        self.tokens = TokenCounter()
        self.seen_base: int | None = None  # state.num_input_tokens_seen taken so far
        self.calls: list[str] = []
        self.trainer_ref: Callable[[], Any] | None = None
        self.args: Any = None
        self.model_ref: Callable[[], Any] | None = None
        self.trainer_state: Any = None
        finalizer = weakref.finalize(self, _end_left_open, self.slot)
        finalizer.atexit = False  # at exit, greenai marks open runs interrupted itself

    # -- the run held ------------------------------------------------------------

    @property
    def run(self) -> Any:
        """The run in progress (training, or evaluation outside training), else None."""
        run = self.slot.run
        return run if run is not None and not run.stopped else None

    def _problem(self, what: str, exc: BaseException) -> None:
        message = f"the Trainer integration skipped {what}: {exc!r}"
        run = self.run
        if run is not None:
            run.misuse(fl.INTEGRATION_FAILED, message)
        else:
            warnings.warn(f"greenai: {message}", GreenAIWarning, stacklevel=3)

    def _safely(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # never harm training
            self._problem(what, exc)
            return None

    def _see(self, args: Any, model: Any) -> None:
        """Remember the arguments and hook the model's forward for tokens."""
        if args is not None:
            self.args = args
        if model is not None:
            self.model_ref = weakref.ref(model)
            self.tokens.install(model)

    def _start(self, call: str) -> None:
        """Start the run of ``call``, ending one a failed call left open."""
        _end_left_open(self.slot)
        model = self.model_ref() if self.model_ref is not None else None
        phase = PHASES[call]
        options = dict(self.options)
        if call != "train":
            options.pop("phase", None)
        kwargs: dict[str, Any] = {**detect(model, self.args, phase), **options}
        tags = dict(options.get("tags") or {})
        if call == "train" and self.resumed_from is not None:
            tags[hf_resume.RESUMED_FROM_TAG] = self.resumed_from
        if tags:
            kwargs["tags"] = tags
        kwargs.update(run_id_option(options, call))
        from greenai.tracking.api import start

        self.slot.run = start(**kwargs)
        self.kind = call

    def _take_tokens(self) -> None:
        """Hand the tokens counted so far to the run."""
        run = self.run
        if run is None:
            return
        if self.kind != "train":
            run.add_tokens(input=self.tokens.take("eval"))
            return
        state = self.trainer_state
        if self.seen_base is not None and state is not None:
            seen = int(getattr(state, "num_input_tokens_seen", 0) or 0)
            run.add_tokens(output=max(seen - self.seen_base, 0))
            self.seen_base = max(seen, self.seen_base)
        else:
            run.add_tokens(output=self.tokens.take("train"))
        if self.tokens.problem:
            run.misuse(fl.INTEGRATION_FAILED, f"greenai: {self.tokens.problem}")
            self.tokens.problem = None

    def _stop(self, status: str = "completed", error: BaseException | None = None) -> Any:
        """Stop the run held (tokens taken first); the stopped run, or None."""
        run = self.run
        if run is None:
            return None
        if self.window is not None:
            self._close_window()
        self._take_tokens()
        run.stop(status, error=error)
        return run

    def _figures(self, run: Any) -> dict[str, float]:
        previous = self.previous if self.kind == "train" else None
        return tracker_figures(hf_resume.continued(run.to_dict(), previous))

    def _close_window(self) -> None:
        window, self.window = self.window, None
        if window is not None:
            window.__exit__(None, None, None)
        self.tokens.discard("eval")  # training runs count training tokens only

    # -- calls (from attach's wrappers, or inferred from the Trainer's events) ----

    def begin_call(self, call: str) -> None:
        """A trainer call starts (``train``, ``evaluate``, ``predict``); never raises."""
        self.calls.append(call)
        if call != "train":
            self.tokens.discard("eval")  # what eval-mode forwards counted before the call
            self._safely(f"the start of {call}()", self._begin_eval, call)

    def end_call(self, call: str, error: BaseException | None) -> None:
        """A trainer call ended, having raised ``error`` or not; never raises."""
        if self.calls and self.calls[-1] == call:
            self.calls.pop()
        self._safely(f"the end of {call}()", self._end, call, error)

    def _begin_eval(self, call: str) -> None:
        run = self.run
        if run is not None and self.kind == "train":
            if self.window is None:
                self.window = run.window(WINDOWS[call])
                self.window.__enter__()
            return
        if run is None:
            self._start(call)

    def _end(self, call: str, error: BaseException | None) -> None:
        status = "failed" if error is not None else "completed"
        if call != "train" and self.kind == "train":
            self._close_window()
        elif self.kind == call:
            self._stop(status, error)

    # -- Trainer events --------------------------------------------------------------

    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._safely("on_init_end", self._see, args, kwargs.get("model"))

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        owner = self._safely("its restored callback", self._attached_owner)
        if owner is not None:
            return owner.on_train_begin(args, state, control, **kwargs)
        self._safely("on_train_begin", self._train_begin, args, state, kwargs.get("model"))
        return None

    def _train_begin(self, args: Any, state: Any, model: Any) -> None:
        self._see(args, model)
        self.trainer_state = state
        name = type(self).__name__
        stateful = getattr(state, "stateful_callbacks", None)
        resumed = int(getattr(state, "global_step", 0) or 0) > 0
        previous = hf_resume.previous_state(stateful, name) if resumed else None
        self.resumed_from = previous["run_id"] if previous is not None else None
        # only the main process writes checkpoints: their totals are its part's
        main = bool(getattr(state, "is_world_process_zero", True))
        self.previous = previous if main else None
        if isinstance(stateful, dict):
            stateful.setdefault(name, self.state())  # a checkpoint made without greenai
        seen_mode = str(getattr(args, "include_num_input_tokens_seen", "no"))
        single = int(getattr(args, "world_size", 1) or 1) == 1
        if seen_mode not in ("no", "False") and single:
            self.seen_base = int(getattr(state, "num_input_tokens_seen", 0) or 0)
        else:
            self.seen_base = None
        self.tokens.count_training = self.seen_base is None
        self.tokens.discard("train")
        self.tokens.discard("eval")
        self._start("train")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.window is None:  # eval-mode forwards of a training step are not counted
            self.tokens.discard("eval")

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.window is None and (self.run is None or self.kind == "train"):
            # a bare callback learns of an evaluation at its first batch
            call = self.calls[-1] if self.calls and self.calls[-1] != "train" else "evaluate"
            self._safely("on_prediction_step", self._begin_eval, call)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        self._safely("on_log", self._log, state, logs)

    def _log(self, state: Any, logs: Any) -> None:
        run = self.run
        if run is None:
            return
        final = self.kind != "train" or (
            isinstance(logs, Mapping) and logs.keys() >= FINAL_TRAIN_LOG_KEYS
        )
        if final:
            run = self._stop()
        else:
            self._take_tokens()
            run.settle()
        figures = self._figures(run)
        if isinstance(logs, dict):
            logs.update(figures)
        history = getattr(state, "log_history", None)
        if history and isinstance(history[-1], dict):
            history[-1].update(figures)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._safely("on_evaluate", self._end, "evaluate", None)

    def on_predict(
        self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
    ) -> None:
        self._safely("on_predict", self._predicted, metrics)

    def _predicted(self, metrics: Any) -> None:
        if self.kind == "train":
            self._close_window()
            return
        run = self._stop()
        if run is not None and isinstance(metrics, dict):
            metrics.update(self._figures(run))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._safely("on_train_end", self._train_end, args, state)

    def _train_end(self, args: Any, state: Any) -> None:
        run = self.slot.run if self.kind == "train" else None
        if run is None:
            return
        self._stop()
        if self.model_card and getattr(state, "is_world_process_zero", True):
            path = card_path(self.model_card, getattr(args, "output_dir", "."))
            write_card(run, path)

    # -- checkpoints -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps of the callback (the Trainer's ``stateful_callbacks``):
        the options and, while training, the totals so far."""
        saved = self._safely("the checkpoint's totals", self._resume_state)
        args = {**_json_safe(self.options), "model_card": self.model_card}
        return {"args": args, "attributes": {"resume_state": saved}}

    def _resume_state(self) -> dict[str, Any] | None:
        run = self.run
        if run is None or self.kind != "train":
            return None
        self._take_tokens()
        run.settle()
        record = hf_resume.continued(run.to_dict(), self.previous)
        return hf_resume.saved_state(link_id(run), record)

    # -- attach --------------------------------------------------------------------------

    def _attached_owner(self) -> GreenAICallback | None:
        """The callback :func:`attach` gave this trainer, when the Trainer replaced it by
        this one (``restore_callback_states_from_checkpoint``): put back first."""
        if self.trainer_ref is not None:
            return None
        for owner in list(_ATTACHED):
            trainer = owner.trainer_ref() if owner.trainer_ref is not None else None
            callbacks = getattr(getattr(trainer, "callback_handler", None), "callbacks", [])
            if owner is not self and any(cb is self for cb in callbacks):
                callbacks.remove(self)
                callbacks.insert(0, owner)
                return owner
        return None

    def bind(self, trainer: Any) -> None:
        """Put the callback first in ``trainer``'s callbacks and wrap its calls."""
        callbacks = trainer.callback_handler.callbacks
        for other in [cb for cb in callbacks if isinstance(cb, GreenAICallback)]:
            warnings.warn(
                "greenai: attach() replaces the GreenAICallback already there",
                GreenAIWarning,
                stacklevel=3,
            )
            callbacks.remove(other)
        callbacks.insert(0, self)
        self.trainer_ref = weakref.ref(trainer)
        _ATTACHED.add(self)
        self._see(trainer.args, getattr(trainer, "model", None))
        for call in CALLS:
            _wrap(trainer, call, self)


def _wrap(trainer: Any, call: str, callback: GreenAICallback) -> None:
    """``trainer.<call>`` tells the callback when it starts and how it ends."""
    original = getattr(trainer, call)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        callback.begin_call(call)
        try:
            result = original(*args, **kwargs)
        except BaseException as exc:
            callback.end_call(call, exc)
            raise
        callback.end_call(call, None)
        return result

    setattr(trainer, call, wrapped)


def attach(trainer: Any, **options: Any) -> GreenAICallback:
    """Record ``trainer``'s calls with greenai; the callback, first among its callbacks.

    Args:
        trainer: A ``transformers.Trainer`` (or a subclass).
        **options: As for :class:`GreenAICallback` (``project=``, ``model_card=True``,
            configuration keys such as ``country=``).

    Raises:
        TypeError: An unknown keyword.
        greenai.ConfigError: An invalid value, before training starts.
    """
    callback = GreenAICallback(**options)
    callback.bind(trainer)
    return callback
