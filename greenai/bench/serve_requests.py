"""The requests of ``greenai bench --serve`` and its live window, on one tracked run.

B worker threads keep B streaming requests in flight until N have been sent. Each
token's arrival and each request's end are timed under one lock, on the run's clock
(:meth:`greenai.Run.now_s`), and fed in that order to the window rule
(:class:`~greenai.bench.serve_window.LiveWindow`), which opens the run's steady-state
window at the B-th first token and closes it at the (N - B)-th end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from greenai.bench.serve_client import REJECTED_OPTION, ServeRequestError, stream_chat
from greenai.bench.serve_config import ServeConfig
from greenai.bench.serve_prompts import Messages
from greenai.bench.serve_window import LiveWindow, RequestTrace, spread_tokens

if TYPE_CHECKING:
    from greenai.tracking.run import Run
    from greenai.tracking.window import Window

log = logging.getLogger(__name__)

WINDOW_NAME = "serve"
USAGE, CHUNKS = "usage", "chunks"


@dataclass(frozen=True, slots=True)
class ServeEvent:
    """What the bench saw, for progress displays: a request's token or its end.

    Attributes:
        kind: ``token`` (a chunk with output text) or ``end``.
        request: The request's number, from 0.
        time_s: When, on the run's clock, s.
    """

    kind: str
    request: int
    time_s: float


Observer = Callable[[ServeEvent], None]


@dataclass
class _Request:
    """One request while it runs (written by its worker, read at the end)."""

    times_s: list[float] = field(default_factory=list)
    usage: Mapping[str, Any] | None = None
    end_s: float | None = None
    error: str | None = None


class ServeBench:
    """The requests of one bench and the live window, on one run.

    Args:
        config: What to send.
        prompts: One prompt per request.
        run: The tracked run the window belongs to; its clock (:meth:`greenai.Run.now_s`)
            times every event, so the window's bounds and its energy share one clock.
        observer: Called after each event is recorded (progress); its errors are logged.
    """

    def __init__(
        self,
        config: ServeConfig,
        prompts: list[Messages],
        run: Run,
        observer: Observer | None = None,
    ) -> None:
        self.config = config
        self.prompts = prompts
        self.run = run
        self.clock = run.now_s
        self.observer = observer
        self.requests = [_Request() for _ in prompts]
        self.live = LiveWindow(len(prompts), config.concurrency)
        self.window: Window | None = None
        self.ask_usage = config.usage
        self._lock = threading.Lock()
        self._next = 0

    def run_all(self) -> None:
        """Send every request, B at a time; returns when all have ended."""
        workers = [
            threading.Thread(target=self._work, name=f"greenai-serve-{i}", daemon=True)
            for i in range(self.config.concurrency)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self.requests):
                return None
            self._next += 1
            return self._next - 1

    def _work(self) -> None:
        while (index := self._take()) is not None:
            try:
                self._send(index)
            except Exception as exc:  # a request's failure is the request's, not the bench's
                self.requests[index].error = f"{type(exc).__name__}: {exc}"
            self._ended(index)

    def _body(self, index: int, ask_usage: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": self.prompts[index],
            "max_tokens": self.config.max_tokens,
            "stream": True,
        }
        if ask_usage:
            body["stream_options"] = {"include_usage": True}
        return body

    def _send(self, index: int) -> None:
        request, asked = self.requests[index], self.ask_usage
        try:
            self._stream(index, asked)
        except ServeRequestError as exc:
            if not (asked and exc.status in REJECTED_OPTION and not request.times_s):
                raise
            if self.ask_usage:
                log.warning("the server refused stream_options (%s): counting chunks", exc)
            self.ask_usage = False
            self._stream(index, False)

    def _stream(self, index: int, ask_usage: bool) -> None:
        request = self.requests[index]
        body = self._body(index, ask_usage)
        for piece in stream_chat(self.config.url_base, body, self.config.timeout_s):
            if piece.usage is not None:
                request.usage = piece.usage
            if piece.text:
                self._token(index)

    def _token(self, index: int) -> None:
        request = self.requests[index]
        with self._lock:
            now_s = self.clock()
            request.times_s.append(now_s)
            if len(request.times_s) == 1 and self.live.first_token():
                self.window = self.run.window(WINDOW_NAME, steady_state=True)
                self.window.__enter__()
        self._notify(ServeEvent("token", index, now_s))

    def _ended(self, index: int) -> None:
        with self._lock:
            now_s = self.clock()
            self.requests[index].end_s = now_s
            if self.live.ended() and self.window is not None:
                self.window.__exit__(None, None, None)
        self._notify(ServeEvent("end", index, now_s))

    def _notify(self, event: ServeEvent) -> None:
        if self.observer is None:
            return
        try:
            self.observer(event)
        except Exception as exc:  # a display must not stop the bench
            log.debug("serve bench observer failed: %s", exc)

    def traces(self) -> tuple[list[RequestTrace], str]:
        """Each request's token times and counts, and how the tokens were counted."""
        traces, methods = [], set()
        for request in self.requests:
            end_s = request.end_s if request.end_s is not None else self.clock()
            times, counts = tuple(request.times_s), (1,) * len(request.times_s)
            reported = completion_tokens(request.usage)
            if reported is not None:
                methods.add(USAGE)
                if times:
                    counts = spread_tokens(reported, len(times))
                elif reported:  # output without text (special tokens): at its end
                    times, counts = (end_s,), (reported,)
            elif request.error is None:
                methods.add(CHUNKS)
            traces.append(RequestTrace(times, counts, end_s))
        return traces, "+".join(m for m in (USAGE, CHUNKS) if m in methods) or CHUNKS


def completion_tokens(usage: Mapping[str, Any] | None) -> int | None:
    """``usage.completion_tokens`` when it is a whole number >= 0, else None."""
    value = usage.get("completion_tokens") if usage else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def prompt_tokens(usage: Mapping[str, Any] | None) -> int:
    """``usage.prompt_tokens`` when it is a whole number >= 0, else 0."""
    value = usage.get("prompt_tokens") if usage else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value
