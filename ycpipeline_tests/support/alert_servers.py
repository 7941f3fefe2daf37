"""Loopback servers that receive alerts in the tests: an HTTP capture (the JSON webhook, Slack and a fake
Telegram Bot API at once) and a minimal SMTP server (the standard library has none since 3.12)."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_string, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Captured:
    """What the servers received: HTTP bodies by path, and emails."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    emails: list[EmailMessage] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, path_start: str) -> list[dict[str, Any]]:
        """JSON bodies posted to paths starting with `path_start`."""
        with self.lock:
            return [body for path, body in self.posts if path.startswith(path_start)]

    def everything(self) -> str:
        """Every byte received, as text, and each email's decoded body (to look for secrets)."""
        with self.lock:
            return "\n".join([*self.raw, *(str(m.get_content()) for m in self.emails)])


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll `condition` until it holds or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


@contextmanager
def http_capture(captured: Captured) -> Iterator[str]:
    """An HTTP server recording every POST's JSON body; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            with captured.lock:
                captured.raw.append(f"POST {self.path}\n{raw}")
                captured.posts.append((self.path, json.loads(raw)))
            answer = b'{"ok": true}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_capture(captured: Captured) -> Iterator[int]:
    """A minimal SMTP server (EHLO, AUTH PLAIN/LOGIN accepted, MAIL, RCPT, DATA, QUIT); yields its port."""

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 localhost test SMTP")
            while line := self.rfile.readline().decode():
                with captured.lock:
                    captured.raw.append(line)
                verb = line[:4].upper()
                if verb == "EHLO":
                    self.reply("250-localhost")
                    self.reply("250 AUTH PLAIN LOGIN")
                elif verb == "AUTH":
                    self.reply("235 ok")
                elif verb == "DATA":
                    self.reply("354 end with .")
                    lines = []
                    while (data := self.rfile.readline().decode()) not in (".\r\n", ""):
                        lines.append(data[1:] if data.startswith("..") else data)
                    text = "".join(lines)
                    with captured.lock:
                        captured.raw.append(text)
                        captured.emails.append(message_from_string(text, policy=policy.default))
                    self.reply("250 queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 ok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
