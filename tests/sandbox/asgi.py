"""Requests to the sandbox's ASGI apps in-process, with no socket and no TLS.

Starlette's TestClient needs httpx, which the project does not depend on; this is the small
part of it the sandbox tests use: one event loop in a background thread (a blocking portal, as
TestClient runs one), a request in, status, headers and body out. Server errors propagate as
exceptions, so a handler that fails shows its traceback in the test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode

import anyio.from_thread
import orjson
from anyio.from_thread import BlockingPortal
from starlette.types import ASGIApp, Message


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class AsgiClient:
    """Calls one ASGI app through `portal`; `headers` go with every request, `prefix` before
    every path."""

    def __init__(
        self, app: ASGIApp, portal: BlockingPortal, headers: Mapping[str, str], prefix: str = ""
    ) -> None:
        self.app = app
        self.portal = portal
        self.headers = dict(headers)
        self.prefix = prefix

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        body: bytes | None = None,
        query: str | Mapping[str, str] = "",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request to `path` as written on the wire (percent-encoded); `json` is
        encoded unless a raw `body` is given."""
        if body is None:
            body = b"" if json is None else orjson.dumps(json)
        raw_query = query if isinstance(query, str) else urlencode(query)
        sent = {**self.headers, **(headers or {})}
        return self.portal.call(self._send, method, self.prefix + path, raw_query, sent, body)

    async def _send(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Reply:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": query.encode("utf-8", "surrogateescape"),
            "root_path": "",
            "headers": [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            ]
            + [(b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        delivered = False
        status = 0
        reply_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                await anyio.sleep_forever()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                reply_headers.update(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Reply(status, reply_headers, b"".join(chunks))


@contextmanager
def asgi_portal() -> Iterator[BlockingPortal]:
    """An event loop in a background thread for `AsgiClient`s to share."""
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal
