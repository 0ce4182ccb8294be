"""The steady-state window of a served batch (ML.ENERGY's method), as pure functions.

B requests run at once out of N. The window starts when B requests have received their
first token (the batch is full) and ends when N - B requests have ended (before the
drain, when fewer than B are left). Energy per token is the window's energy over the
tokens that arrived inside it.

A token arriving at time t was produced during the step that ends at t, so the window
counts tokens with ``start_s < t <= end_s``: the tokens that open the window were paid
for before it, those that close it inside it. Every duration here is in seconds of the
clock the traces were timed on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class NoSteadyWindow(ValueError):  # noqa: N818 - a state, like collectors.Unavailable
    """The traces have no steady-state window; ``reason`` says why, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RequestTrace:
    """One request as the client saw it.

    Attributes:
        token_times_s: Arrival time of each streamed piece of output (a chunk), in order, s.
        token_counts: Tokens each piece carries (same length as ``token_times_s``).
        end_s: When the request ended (its stream finished, or it failed), s.
    """

    token_times_s: tuple[float, ...]
    token_counts: tuple[int, ...]
    end_s: float

    @property
    def first_token_s(self) -> float | None:
        """Arrival of its first token, s; None when it streamed none."""
        return self.token_times_s[0] if self.token_times_s else None

    @property
    def tokens(self) -> int:
        """Tokens it streamed."""
        return sum(self.token_counts)


@dataclass(frozen=True, slots=True)
class SteadyWindow:
    """The steady-state window of a set of requests.

    Attributes:
        start_s: When the B-th request received its first token, s.
        end_s: When the (N - B)-th request ended, s.
        tokens: Tokens that arrived in ``(start_s, end_s]``.
    """

    start_s: float
    end_s: float
    tokens: int

    @property
    def duration_s(self) -> float:
        """Window length, s."""
        return self.end_s - self.start_s

    @property
    def tokens_per_s(self) -> float:
        """Output throughput inside the window, tokens/s."""
        return self.tokens / self.duration_s


def window_bounds(traces: Sequence[RequestTrace], concurrency: int) -> tuple[float, float]:
    """``(start_s, end_s)``: the B-th first token and the (N - B)-th end.

    Raises:
        NoSteadyWindow: N <= B, fewer than B requests streamed a token, or the
            (N - B)-th request ended no later than the B-th first token (the server never
            ran B requests at once).
    """
    count = len(traces)
    if concurrency < 1 or count <= concurrency:
        raise NoSteadyWindow(
            f"{count} requests at concurrency {concurrency}: the window needs more requests "
            "than the concurrency (N > B)"
        )
    firsts = sorted(t.first_token_s for t in traces if t.first_token_s is not None)
    if len(firsts) < concurrency:
        raise NoSteadyWindow(
            f"only {len(firsts)} of {count} requests streamed a token; {concurrency} needed "
            "to fill the batch"
        )
    start_s = firsts[concurrency - 1]
    end_s = sorted(t.end_s for t in traces)[count - concurrency - 1]
    if end_s <= start_s:
        raise NoSteadyWindow(
            f"request {count - concurrency} of {count} ended ({end_s:.3f} s) before "
            f"{concurrency} requests had their first token ({start_s:.3f} s): the server did "
            f"not run {concurrency} requests at once"
        )
    return start_s, end_s


def steady_window(traces: Sequence[RequestTrace], concurrency: int) -> SteadyWindow:
    """The steady-state window of ``traces`` at ``concurrency`` B and the tokens in it.

    Raises:
        NoSteadyWindow: See :func:`window_bounds`.
    """
    start_s, end_s = window_bounds(traces, concurrency)
    tokens = sum(
        n
        for trace in traces
        for t, n in zip(trace.token_times_s, trace.token_counts, strict=True)
        if start_s < t <= end_s
    )
    return SteadyWindow(start_s, end_s, tokens)


def spread_tokens(total: int, pieces: int) -> tuple[int, ...]:
    """Split ``total`` tokens over ``pieces`` streamed chunks as evenly as whole numbers
    allow (the server's usage count over the chunks it streamed): each gets the floor or
    the ceiling of ``total / pieces``, and the first k chunks carry
    ``floor(k * total / pieces)`` tokens, so the count follows the stream at an even rate.

    Raises:
        ValueError: A negative total, or no pieces.
    """
    if total < 0 or pieces < 1:
        raise ValueError(f"cannot spread {total} tokens over {pieces} chunks")
    return tuple((i + 1) * total // pieces - i * total // pieces for i in range(pieces))


class LiveWindow:
    """The same rule applied while the requests run: when to open and close the window.

    Feed it the requests' events in the order of their timestamps; it says when the B-th
    first token arrives (open) and when the (N - B)-th request ends (close). Not
    thread-safe: the caller holds its own lock around each event.

    Args:
        requests: N, the requests in all.
        concurrency: B, the requests in flight at once.
    """

    def __init__(self, requests: int, concurrency: int) -> None:
        self.requests = requests
        self.concurrency = concurrency
        self.firsts = 0
        self.ends = 0
        self.opened = False
        self.closed = False

    def first_token(self) -> bool:
        """A request received its first token; True: open the window now."""
        self.firsts += 1
        if self.firsts == self.concurrency and not self.closed:
            self.opened = True
            return True
        return False

    def ended(self) -> bool:
        """A request ended; True: close the window now."""
        self.ends += 1
        if self.ends == self.requests - self.concurrency:
            self.closed = True
            return self.opened
        return False
