"""A stand-in OpenAI-compatible streaming server (``http.server``, threaded).

Real engines (vLLM, SGLang, TGI) need a GPU, so the tests serve this instead. It
batches like they do: B slots, one token per step for every request in a slot (a
request that gets its last token ends in that step: usage chunk, ``data: [DONE]``),
and a finished request's slot taken by the next to arrive. Request k (in order of
arrival) streams ``lengths[k]`` chunks.

Two ways to keep time:

- lockstep, on the fake NVML library's manual clock: before step s the engine waits for
  every request it expects (the client keeps B in flight while any are left), moves the
  clock to ``start_s + s * step_s``, sends the step's chunks and waits until the bench
  has recorded each of them (:meth:`Engine.ack`, the bench's observer). So every token
  arrives, as the bench sees it, exactly at its step's time, and the GPUs' energy over
  any interval is known exactly;
- free-running, in real time (``clock=None``): the same steps, ``pause_s`` apart, no
  waiting for the bench (for the command line, where no observer can be passed).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WAIT_S = 20.0
"""Longest the engine waits for the client (a stuck test fails instead of hanging)."""


@dataclass
class Slot:
    """One request in the engine."""

    index: int
    length: int
    prompt_tokens: int
    usage: bool
    chunks: queue.Queue[bytes | None] = field(default_factory=queue.Queue)
    sent: int = 0


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


class Engine:
    """The stand-in's batching engine (see the module's docstring).

    Args:
        lengths: Chunks streamed by each request, in order of arrival (N requests).
        slots: Requests the engine runs at once (the rest wait their turn).
        clock: Moves the shared manual clock (``FakeNvml.set_time``); None: real time.
        clients: B, the requests the client keeps in flight (default: ``slots``).
        start_s, step_s: Step s happens at ``start_s + s * step_s`` (s from 1).
        usage: Answer ``stream_options.include_usage`` with a usage chunk.
        reject_options: Answer 400 to a request with ``stream_options``.
        tokens_per_chunk: Tokens in each chunk's text (and in the usage count).
        ordered: In lockstep, let the bench record each request's events of a step
            before sending the next request's (the order of events is then fixed).
        pause_s: Real time between steps when free-running.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        slots: int,
        clock: Callable[[float], None] | None = None,
        *,
        clients: int | None = None,
        start_s: float = 0.0,
        step_s: float = 1.0,
        usage: bool = True,
        reject_options: bool = False,
        tokens_per_chunk: int = 1,
        ordered: bool = False,
        pause_s: float = 0.002,
    ) -> None:
        self.lengths = list(lengths)
        self.slots = slots
        self.clients = clients or slots
        self.clock = clock
        self.start_s, self.step_s = start_s, step_s
        self.usage, self.reject_options = usage, reject_options
        self.tokens_per_chunk = tokens_per_chunk
        self.ordered = ordered
        self.pause_s = pause_s
        self.active: list[Slot] = []
        self.arrived = 0
        self.ended = 0
        self.prompt_tokens: list[int] = []
        self.token_times_s: list[list[float]] = []
        self.rejected = 0
        self.error: str | None = None
        self._cond = threading.Condition()
        self._acks = threading.Semaphore(0)

    # -- the bench's side --------------------------------------------------------------

    def ack(self, event: object) -> None:
        """The bench's observer: one chunk (or one end) recorded."""
        del event
        self._acks.release()

    # -- the handlers' side ------------------------------------------------------------

    def admit(self, prompt_tokens: int, usage: bool) -> Slot:
        """A request arrives: its slot (its length by order of arrival)."""
        with self._cond:
            index = self.arrived
            self.arrived += 1
            slot = Slot(index, self.lengths[index], prompt_tokens, usage)
            self.prompt_tokens.append(prompt_tokens)
            self.token_times_s.append([])
            self.active.append(slot)
            self._cond.notify_all()
            return slot

    # -- the engine ---------------------------------------------------------------------

    def _expected(self) -> int:
        return min(self.clients, len(self.lengths) - self.ended)

    def _wait_for_arrivals(self) -> list[Slot]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.active) >= self._expected(), WAIT_S)
            if not ok:
                raise TimeoutError(f"{len(self.active)} requests in flight, {self._expected()} due")
            return self.active[: self.slots]

    def _send(self, slot: Slot, now_s: float) -> int:
        """Send one token to ``slot`` (and its end where it is the last); returns the
        events the bench will record."""
        slot.sent += 1
        self.token_times_s[slot.index].append(now_s)
        text = "tok " * self.tokens_per_chunk
        slot.chunks.put(_event({"choices": [{"index": 0, "delta": {"content": text}}]}))
        if slot.sent < slot.length:
            return 1
        if slot.usage:
            completion = slot.length * self.tokens_per_chunk
            usage = {"prompt_tokens": slot.prompt_tokens, "completion_tokens": completion}
            slot.chunks.put(_event({"choices": [], "usage": usage}))
        slot.chunks.put(b"data: [DONE]\n\n")
        slot.chunks.put(None)
        return 2

    def _await(self, events: int, number: int) -> None:
        """Wait until the bench has recorded ``events`` events (lockstep only)."""
        for _ in range(events):
            if not self._acks.acquire(timeout=WAIT_S):
                raise TimeoutError(f"step {number}: the bench recorded no event")

    def _step(self, number: int, slots: list[Slot]) -> None:
        """One token to each slot at the step's time; in lockstep, returns once the
        bench has recorded them (slot by slot, in order, when ``ordered``)."""
        now_s = self.start_s + number * self.step_s
        if self.clock is not None:
            self.clock(now_s)
        pending = 0
        for slot in slots:
            pending += self._send(slot, now_s)
            if self.ordered and self.clock is not None:
                self._await(pending, number)
                pending = 0
        if self.clock is None:
            time.sleep(self.pause_s)
        else:
            self._await(pending, number)
        with self._cond:
            done = [s for s in slots if s.sent == s.length]
            self.active = [s for s in self.active if s not in done]
            self.ended += len(done)

    def run(self) -> None:
        """Step until every request has ended (the engine thread)."""
        number = 0
        try:
            while self.ended < len(self.lengths):
                slots = self._wait_for_arrivals()
                number += 1
                self._step(number, slots)
        except Exception as exc:  # reported by the test
            self.error = f"{type(exc).__name__}: {exc}"
            with self._cond:
                for slot in self.active:
                    slot.chunks.put(None)


def _handler(engine: Engine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def _json(self, status: int, data: dict[str, Any]) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": "tiny"}]})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            options = body.get("stream_options") or {}
            if options and engine.reject_options:
                engine.rejected += 1
                self._json(400, {"error": "unknown field stream_options"})
                return
            text = " ".join(m["content"] for m in body["messages"])
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            role = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
            self.wfile.write(_event(role))
            slot = engine.admit(
                len(text.split()), bool(options.get("include_usage")) and engine.usage
            )
            while (chunk := slot.chunks.get(timeout=WAIT_S)) is not None:
                try:
                    self.wfile.write(chunk)
                except OSError:
                    return

    return Handler


@contextmanager
def serving(engine: Engine) -> Iterator[str]:
    """Serve ``engine`` on a free local port; yields the API base URL (``.../v1``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(engine))
    server.daemon_threads = True
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True),
        threading.Thread(target=engine.run, daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
