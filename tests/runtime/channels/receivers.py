"""Real receivers on 127.0.0.1 for channel tests: an HTTP server that records each request and
answers from a script, an SMTP server (aiosmtpd) that keeps what it accepted, and a port that
refuses connections.

The outbound guard refuses loopback addresses, so tests that post to these receivers pass an
outbound policy that allows 127.0.0.1, explicitly: `LOOPBACK`. Rules may not name 127.0.0.1 at
all (trellis.metadata.workflow_rules), so they post to `receiver.named_url`, a host name that
LOOPBACK's own resolver answers with 127.0.0.1; it knows no other name, so no test reaches past
this machine.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from trellis.platform.outbound import OutboundPolicy

RECEIVER_HOST = "receiver.test"  # .test is reserved for testing (RFC 2606): it never resolves in DNS


def resolve_receivers(host: str, port: int) -> list[str]:
    """The test resolver: RECEIVER_HOST is 127.0.0.1, nothing else resolves."""
    if host.lower().rstrip(".") == RECEIVER_HOST:
        return ["127.0.0.1"]
    raise socket.gaierror(socket.EAI_NONAME, f"{host} is not a test receiver")


#: What tests posting to these receivers allow: 127.0.0.1, and no other internal address.
LOOPBACK = OutboundPolicy.parse("127.0.0.1", resolve=resolve_receivers)


@dataclass(frozen=True)
class Answer:
    """What the receiver answers to one request."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})  # JSON-encoded unless bytes or str
    delay: float = 0.0  # seconds to wait first
    headers: tuple[tuple[str, str], ...] = ()  # more response headers (a redirect's Location)


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    headers: HTTPMessage  # case-insensitive
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """Answers requests in the order of `script` (then 200 `{"ok": true}`), recording them all."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[Request] = []
        self.script: list[Answer] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.named_url = f"http://{RECEIVER_HOST}:{self.port}"  # for rules: see the module docstring

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def _next(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            return self.script.pop(0) if self.script else Answer()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                answer = receiver._next(Request(self.command, self.path, self.headers, self.rfile.read(length)))
                time.sleep(answer.delay)
                body = answer.body
                raw = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        return Handler

    def __enter__(self) -> HttpReceiver:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpReceiver:
    """aiosmtpd's handler: keeps each accepted message; `reject_rcpt` / `reject_data` make it
    answer RCPT or DATA with that reply instead."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.logins: list[tuple[str, str]] = []
        self.reject_rcpt: str | None = None
        self.reject_data: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.reject_rcpt:
            return self.reject_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.reject_data:
            return self.reject_data
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=password == "right horse battery", handled=False)  # False: answer 535

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.original_content, policy=policy.default) for e in self.envelopes]  # type: ignore


@contextmanager
def smtp_server(auth: bool = False) -> Iterator[tuple[SmtpReceiver, int]]:
    """An SMTP server on 127.0.0.1 (with AUTH over plain text when `auth`), and its port."""
    receiver = SmtpReceiver()
    port = closed_port()
    options: dict[str, Any] = {"auth_require_tls": False, "authenticator": receiver.authenticate} if auth else {}
    controller = Controller(receiver, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield receiver, port
    finally:
        controller.stop()
