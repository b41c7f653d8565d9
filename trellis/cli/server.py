"""`trellis serve` and `trellis demo`: run the web server, the latter on a ready-made demo tenant."""

from __future__ import annotations

import argparse
import os
import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, cast

from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.cli.options import Commands
from trellis.metadata.packages import read_package
from trellis.platform.files import write_private
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.apps.install import install, installed
from trellis.runtime.identity import Unauthenticated, UserService
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices

DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.trellis"
DEMO_TOKEN_FILE = "demo-admin-token"
DEMO_PASSWORD_FILE = "demo-admin-password"


def _serve(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    import uvicorn

    from trellis.server.app import create_app

    inst.init()
    workers = getattr(args, "workers", os.cpu_count() or 1)
    print(f"Trellis on http://{args.host}:{args.port}/  ({workers} worker(s); Ctrl+C stops it)", file=out, flush=True)
    if workers == 1:
        uvicorn.run(create_app(inst), host=args.host, port=args.port, log_level="warning", access_log=False,
                    proxy_headers=False)  # the app believes TRELLIS_FORWARDED_ALLOW_IPS itself
        return 0
    # worker processes build their own app from the environment: hand them these settings
    os.environ.update(inst.settings.environ())
    inst.dispose()
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("trellis.server.asgi:create", factory=True, host=args.host, port=args.port,
                            workers=workers, log_level="warning", access_log=False, proxy_headers=False)
    # each worker listens on a socket of its own, bound with SO_REUSEPORT, and the kernel spreads
    # new connections across them; one shared socket let one worker take most keep-alive
    # connections while the other idled (measured: 258-295 req/s vs 706 when they were spread)
    port = free_to_listen(args.host, args.port)
    Multiprocess(config, sockets=[cast(socket.socket, WorkerSocket(args.host, port))]).run()
    return 0


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) that other processes may bind too (SO_REUSEPORT), with
    TCP_NODELAY, which Linux hands every accepted connection: without it each keep-alive
    response after the first waits ~40 ms for the client's delayed ACK (uvicorn issue #3149)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def free_to_listen(host: str, port: int) -> int:
    """The port the workers will bind (a free one for 0), refused now if another program holds it."""
    with reuse_port_socket(host, port) as probe:
        return int(probe.getsockname()[1])


class WorkerSocket:
    """The listening socket of one worker process, made in that process. uvicorn hands its
    workers the sockets it is given by pickling them into each new process; this one unpickles
    as a fresh `reuse_port_socket`, so every worker (and any worker uvicorn restarts) listens on
    its own socket of the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def __reduce__(self) -> tuple[Callable[[str, int], socket.socket], tuple[str, int]]:
        return reuse_port_socket, (self.host, self.port)


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, at least 1; got {text!r}")
    return int(text)


def _demo(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    secret = prepare_demo(inst, out)
    password = demo_password(TenantServices(inst).users(DEMO_TENANT), inst.settings.data_dir / DEMO_PASSWORD_FILE)
    print(f"Designer: http://{args.host}:{args.port}/t/{DEMO_TENANT}/login  "
          f"(sign in as {DEMO_ADMIN} with the password {password} )", file=out)
    print(f"GraphQL: http://{args.host}:{args.port}/t/{DEMO_TENANT}/graphql  "
          f"(header  Authorization: Bearer {secret} )", file=out)
    return _serve(args, inst, out)


def prepare_demo(inst: Installation, out: TextIO) -> str:
    """Everything a first look needs: a `demo` tenant with the renewals app installed, sample
    data and an admin with an API token (returned). Idempotent: a later start changes nothing an
    admin did (no publish over their release) and returns the same token while it is valid."""
    from trellis.builtin_apps.renewals.demo_data import generate
    from trellis.builtin_apps.renewals.demo_health import generate_health
    from trellis.builtin_apps.renewals.demo_quotes import LEAVER, REP, generate_quotes
    from trellis.builtin_apps.renewals.demo_team import point_email_at_the_catch_all, staff_the_book

    if inst.find_tenant(DEMO_TENANT) is None:
        inst.create_tenant(DEMO_TENANT)
        print(f"created tenant {DEMO_TENANT}", file=out)
    services = TenantServices(inst)
    store = services.store(DEMO_TENANT)
    now = installed(store)
    if "renewals" not in now.versions:
        renewals = read_package(APP_FOLDER)
        # a new tenant gets the latest version; one an older demo published (the first
        # version's folder, before packages) is adopted as that version, its metadata unchanged
        version = renewals.versions[-1] if now.release is None else renewals.versions[0]
        result, kept = install(store, renewals.load(version), author="trellis demo")
        assert result.release is not None  # an install always records a release
        adopted = f" (kept the {len(kept)} item(s) already published)" if kept else ""
        print(f"published the renewals app as release {result.release.number} "
              f"(renewals {version} installed{adopted})", file=out)
    else:
        print(f"tenant {DEMO_TENANT} is at release {now.release} with renewals {now.versions['renewals']}; "
              f"its metadata is left as it is", file=out)
    records = services.records(DEMO_TENANT)
    if not records.list(Actor.system(), "contract", PageRequest(first=1)).records:
        counts = generate(records)
        counts.update(generate_health(records))
        print("sample data: " + ", ".join(f"{n} {name}" for name, n in counts.items()), file=out)
    token = _demo_token(services.users(DEMO_TENANT), inst.settings.data_dir / DEMO_TOKEN_FILE)
    if "quote" not in services.registry(DEMO_TENANT).objects:
        print(f"quotes, discount approvals and handovers come with renewals 1.2.0: `trellis app upgrade renewals "
              f"--tenant {DEMO_TENANT}`, then start the demo again for sample quotes", file=out)
    elif not records.list(Actor.system(), "quote", PageRequest(first=1)).records:
        quotes = generate_quotes(services, DEMO_TENANT, DEMO_ADMIN)  # needs the admin: a discount waits for them
        staffed = staff_the_book(services, DEMO_TENANT, DEMO_ADMIN)
        if point_email_at_the_catch_all(services, DEMO_TENANT, DEMO_ADMIN):
            print("email channel: 127.0.0.1:1025 (a local catch-all, e.g. `python -m aiosmtpd -n -l 127.0.0.1:1025`; "
                  f"`trellis worker --tenant {DEMO_TENANT}` sends what is due)", file=out)
        print(f"sales team: {staffed['contracts handed to reps']} more contracts handed to the reps", file=out)
        print(f"sample quotes: {quotes['quote']} (one in every status; one waits for your approval); preview a "
              f"handover: trellis handover --tenant {DEMO_TENANT} --from {LEAVER} --to {REP} --dry-run", file=out)
    return token


def demo_password(users: UserService, path: Path) -> str:
    """The demo admin's designer password, made on the first start and kept in the data folder
    (readable by its owner only) so that a restart shows the same one."""
    if path.exists():
        return path.read_text("utf-8").strip()
    password = secrets.token_urlsafe(12)
    users.set_password(DEMO_ADMIN, password)
    write_private(path, password + "\n")
    return password


def _demo_token(users: UserService, path: Path) -> str:
    """The demo admin's token, kept in the data folder (readable by its owner only) so that a
    restart shows the same one; a new one only when it was revoked, expired or lost."""
    if not any(u.email == DEMO_ADMIN for u in users.list_users()):
        users.create_user(DEMO_ADMIN, name="Demo admin", roles=["admin"])
    if path.exists():
        secret = path.read_text("utf-8").strip()
        try:
            users.actor_for_token(secret)
            return secret
        except Unauthenticated:
            pass  # revoked or expired: make a new one below
    _, secret = users.create_token(DEMO_ADMIN, name="demo", expires_days=30)
    write_private(path, secret + "\n")
    return secret


def register(commands: Commands) -> None:
    for name, handler, text in (("serve", _serve, "run the web server"),
                                ("demo", _demo, "create a demo tenant with the renewals app and serve it")):
        server = commands.add_parser(name, help=text)
        server.add_argument("--host", default="127.0.0.1")
        server.add_argument("--port", type=int, default=8000)
        server.add_argument("--workers", type=_workers, default=os.cpu_count() or 1, metavar="N",
                            help="worker processes (default: one per core); each keeps its own caches")
        server.set_defaults(handler=handler)
