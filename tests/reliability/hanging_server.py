"""A loopback server that accepts connections and never answers, until told to forward
them to a real one: a PostgreSQL that hangs, then comes back."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class HangingServer:
    """Listens on a free loopback port. While hanging, connections are accepted and left
    unanswered; once :meth:`forward_to` is called, new connections are relayed.

    Attributes:
        port: The port it listens on.
        accepted: Connections accepted so far.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.accepted = 0
        self._target: tuple[str, int] | None = None
        self._held: list[socket.socket] = []
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def forward_to(self, host: str, port: int) -> None:
        """From now on, relay new connections to ``host:port``."""
        self._target = (host, port)

    def _serve(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self._target is None:
                self._held.append(client)  # accepted, never answered
                continue
            upstream = socket.create_connection(self._target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for held in self._held:
            held.close()

    def __enter__(self) -> HangingServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
