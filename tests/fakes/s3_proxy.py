"""A man in the middle for S3: forwards every request to a real S3 endpoint, but changes one
byte of each uploaded body (a PUT with a body) on its way, as a bad link or disk would. The
store then holds, and reports the ETag of, bytes that are not the file's."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te", "upgrade"}


def _handler(upstream: str, corrupted: list[str]) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Corrupting(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # answers boto3's Expect: 100-continue

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.command == "PUT" and body:
                middle = len(body) // 2
                body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1:]
                corrupted.append(self.path)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                connection.request(self.command, self.path, body=body or None, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status, answer.reason)
            for key, value in answer.getheaders():
                if key.lower() not in HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        def log_message(self, *_: object) -> None:
            return None

    return Corrupting


@contextmanager
def corrupting_proxy(upstream: str) -> Iterator[tuple[str, list[str]]]:
    """(its URL on loopback, the paths whose uploads it changed)."""
    corrupted: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, corrupted))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", corrupted
    finally:
        server.shutdown()
        server.server_close()
