"""`trellis serve --workers N` shares one listening socket bound with TCP_NODELAY, so that every
connection a worker accepts answers keep-alive requests without waiting for a delayed ACK."""

from __future__ import annotations

import socket

from trellis.cli.server import listening_socket


def test_connections_accepted_on_the_shared_socket_have_nodelay():
    with listening_socket("127.0.0.1", 0) as sock:
        sock.listen()
        assert sock.get_inheritable()  # the worker processes receive it
        with socket.create_connection(sock.getsockname()) as client:
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"
