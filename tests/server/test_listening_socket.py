"""`trellis serve --workers N`: each worker listens on a socket of its own bound with
SO_REUSEPORT (so the kernel spreads connections across the workers) and TCP_NODELAY (so every
accepted connection answers keep-alive requests without waiting for a delayed ACK)."""

from __future__ import annotations

import pickle
import socket

import pytest

from trellis.cli.server import WorkerSocket, free_to_listen, reuse_port_socket


def test_connections_accepted_on_a_worker_socket_have_nodelay() -> None:
    with reuse_port_socket("127.0.0.1", 0) as sock:
        sock.listen()
        with socket.create_connection(sock.getsockname()) as client:
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"


def test_each_worker_gets_its_own_socket_of_the_same_port_and_connections_reach_them_all() -> None:
    port = free_to_listen("127.0.0.1", 0)
    # what a worker process does with the socket uvicorn hands it: unpickle, then listen
    sockets = [pickle.loads(pickle.dumps(WorkerSocket("127.0.0.1", port))) for _ in range(2)]
    try:
        for sock in sockets:
            assert isinstance(sock, socket.socket) and sock.getsockname() == ("127.0.0.1", port)
            sock.listen()
            sock.settimeout(5)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        reached = set()
        for sock in sockets:
            sock.setblocking(False)
            while True:
                try:
                    accepted, _ = sock.accept()
                except BlockingIOError:
                    break
                accepted.close()
                reached.add(sock.fileno())
        assert reached == {s.fileno() for s in sockets}  # 32 connections, hashed over both
        for client in clients:
            client.close()
    finally:
        for sock in sockets:
            sock.close()


def test_a_port_another_program_listens_on_is_refused_before_any_worker_starts() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(OSError):
            free_to_listen("127.0.0.1", other.getsockname()[1])
