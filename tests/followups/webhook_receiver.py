"""A real HTTP receiver on loopback for the webhook tests: it records what it is sent and
answers as told (a status, a hang, an answer a byte at a time)."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """What the receiver got, and how it answers the next requests."""

    def __init__(self, port: int):
        self.port = port
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        self.hang = 0.0  # seconds to wait before answering
        self.trickle = False  # answer one byte at a time, slowly, for ever
        self.released = threading.Event()  # ends every hang (the test is over)
        self.got = threading.Event()  # set when a request came in

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/calls?source=front-desk"

    def header(self, index: int, name: str) -> str:
        headers = self.requests[index][0]
        return next(value for key, value in headers.items() if key.lower() == name.lower())


def start_receiver():
    """(Receiver, stop): a threaded HTTP server on 127.0.0.1 and a port of its own."""
    state = Receiver(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(({**self.headers}, body))
            state.got.set()
            if state.hang:
                state.released.wait(state.hang)
            if state.trickle:
                answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200
                for byte in answer:
                    if state.released.wait(0.2):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return
                return
            try:
                self.send_response(state.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up on us

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop():
        state.released.set()
        server.shutdown()
        server.server_close()

    return state, stop


def closed_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
