"""A streaming client of OpenAI-compatible servers (vLLM, SGLang, TGI, llama.cpp, ...).

``POST {base}/chat/completions`` with ``"stream": true``: the answer is server-sent
events, one ``data: {json}`` chunk per piece of output and ``data: [DONE]`` at the end.
``stream_options: {"include_usage": true}`` asks for a last chunk with the request's
``usage`` (``prompt_tokens``, ``completion_tokens``); a server that rejects the option is
asked again without it. Standard library only (``http.client``); an ``OPENAI_API_KEY``
in the environment is sent as a bearer token.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from greenai.errors import ConfigError

DONE = "[DONE]"
REJECTED_OPTION = (400, 422)
"""Statuses of a server that does not know ``stream_options``."""


class ServeRequestError(Exception):
    """A request the server refused or broke off.

    Attributes:
        status: The HTTP status (None: no answer, a broken stream).
        detail: The start of the server's answer or the error, in words.
    """

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Piece:
    """What one chunk of a stream carries.

    Attributes:
        text: Output text (content, or reasoning content); empty for a role or usage chunk.
        usage: The ``usage`` object when the chunk has one.
    """

    text: str
    usage: Mapping[str, Any] | None


def sse_data(lines: Iterable[bytes]) -> Iterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined by newlines);
    comments and other fields are skipped, an event ends at a blank line or the end."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def piece_of(chunk: Mapping[str, Any]) -> Piece:
    """The output text and usage of one parsed chunk (chat or text completion)."""
    text = ""
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, Mapping):
            continue
        delta = choice.get("delta")
        if isinstance(delta, Mapping):
            for key in ("content", "reasoning_content", "reasoning"):
                value = delta.get(key)
                if isinstance(value, str):
                    text += value
        value = choice.get("text")
        if isinstance(value, str):
            text += value
    usage = chunk.get("usage")
    return Piece(text, usage if isinstance(usage, Mapping) else None)


def check_url(url: str) -> str:
    """The base URL without a trailing slash.

    Raises:
        ConfigError: Not an http(s) URL with a host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("serve", url, "an http(s) URL of the server's API (http://host:port/v1)")
    return url.rstrip("/")


def _connection(url: str, timeout_s: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout_s)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_s)


def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def served_models(base_url: str, timeout_s: float = 10.0) -> list[str] | None:
    """The model ids ``GET {base}/models`` lists; None when the server has no such route.

    Raises:
        ConfigError: Nothing answers at the URL (the message says what failed).
    """
    conn = _connection(base_url, timeout_s)
    try:
        conn.request("GET", urlsplit(base_url).path + "/models", headers=_headers())
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        raise ConfigError(
            "serve", base_url, f"a running OpenAI-compatible server (it did not answer: {exc})"
        ) from exc
    finally:
        conn.close()
    if response.status != 200:
        return None
    try:
        data = json.loads(body)
        return [str(m["id"]) for m in data.get("data", ())]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def stream_chat(base_url: str, body: Mapping[str, Any], timeout_s: float) -> Iterator[Piece]:
    """Send one streaming chat request; yield each chunk's :class:`Piece` as it arrives.

    Args:
        base_url: The API's base URL (``http://host:port/v1``).
        body: The request (``model``, ``messages``, ``max_tokens``, ``stream``, ...).
        timeout_s: Socket timeout, s (connecting, and between two chunks).

    Raises:
        ServeRequestError: A status other than 200, a broken connection, a chunk that
            is not JSON, or an error object in the stream.
    """
    conn = _connection(base_url, timeout_s)
    try:
        try:
            path = urlsplit(base_url).path + "/chat/completions"
            conn.request("POST", path, body=json.dumps(body).encode(), headers=_headers())
            response = conn.getresponse()
        except OSError as exc:
            raise ServeRequestError(None, f"no answer: {exc}") from exc
        if response.status != 200:
            detail = response.read(300).decode("utf-8", errors="replace")
            raise ServeRequestError(response.status, detail.strip() or str(response.reason))
        yield from _pieces(response)
    finally:
        conn.close()


def _pieces(response: http.client.HTTPResponse) -> Iterator[Piece]:
    try:
        for data in sse_data(response):
            if data.strip() == DONE:
                return
            try:
                chunk = json.loads(data)
            except ValueError as exc:
                raise ServeRequestError(None, f"a chunk that is not JSON: {data[:80]!r}") from exc
            if not isinstance(chunk, Mapping):
                continue
            if "error" in chunk and not chunk.get("choices"):
                raise ServeRequestError(None, f"the server reported: {chunk['error']}")
            yield piece_of(chunk)
    except (OSError, http.client.HTTPException) as exc:
        raise ServeRequestError(None, f"stream broken: {exc}") from exc
