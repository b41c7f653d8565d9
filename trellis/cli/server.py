"""`trellis serve` and `trellis demo`: run the web server, the latter on a ready-made demo tenant."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from trellis.cli.options import Commands
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices

RENEWALS_APP = Path(__file__).resolve().parent.parent.parent / "builtin_apps" / "renewals"
DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.trellis"


def _serve(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    import uvicorn

    from trellis.server.app import create_app

    inst.init()
    workers = getattr(args, "workers", 1)
    print(f"Trellis on http://{args.host}:{args.port}/  ({workers} worker(s); Ctrl+C stops it)", file=out, flush=True)
    if workers == 1:
        uvicorn.run(create_app(inst), host=args.host, port=args.port, log_level="warning", access_log=False)
        return 0
    # worker processes build their own app from the environment: hand them these settings
    settings = inst.settings
    os.environ.update(TRELLIS_DATA_DIR=str(settings.data_dir.resolve()), TRELLIS_TIMEZONE=settings.default_timezone,
                      TRELLIS_LOCALE=settings.default_locale)
    if settings.database_url:
        os.environ["TRELLIS_DATABASE_URL"] = settings.database_url
    inst.dispose()
    uvicorn.run("trellis.server.asgi:create", factory=True, host=args.host, port=args.port, workers=workers,
                log_level="warning", access_log=False)
    return 0


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, at least 1; got {text!r}")
    return int(text)


def _demo(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    """Everything a first look needs: a `demo` tenant with the renewals app published, sample
    data, an admin with a fresh API token, then serve."""
    from trellis.builtin_apps.renewals.demo_data import generate

    if inst.find_tenant(DEMO_TENANT) is None:
        inst.create_tenant(DEMO_TENANT)
        print(f"created tenant {DEMO_TENANT}", file=out)
    services = TenantServices(inst)
    result = services.store(DEMO_TENANT).publish(load_folder(RENEWALS_APP), author="trellis demo",
                                                 message="renewals app", source="builtin:renewals")
    if result.release:
        print(f"published the renewals app as release {result.release.number}", file=out)
    records = services.records(DEMO_TENANT)
    if not records.list(Actor.system(), "contract", PageRequest(first=1)).records:
        counts = generate(records)
        print("sample data: " + ", ".join(f"{n} {name}" for name, n in counts.items()), file=out)
    users = services.users(DEMO_TENANT)
    if not any(u.email == DEMO_ADMIN for u in users.list_users()):
        users.create_user(DEMO_ADMIN, name="Demo admin", roles=["admin"])
    _, secret = users.create_token(DEMO_ADMIN, name="demo", expires_days=7)
    print(f"GraphQL: http://{args.host}:{args.port}/t/{DEMO_TENANT}/graphql  "
          f"(header  Authorization: Bearer {secret} )", file=out)
    return _serve(args, inst, out)


def register(commands: Commands) -> None:
    for name, handler, text in (("serve", _serve, "run the web server"),
                                ("demo", _demo, "create a demo tenant with the renewals app and serve it")):
        server = commands.add_parser(name, help=text)
        server.add_argument("--host", default="127.0.0.1")
        server.add_argument("--port", type=int, default=8000)
        server.add_argument("--workers", type=_workers, default=1, metavar="N",
                            help="worker processes (default 1); each keeps its own caches")
        server.set_defaults(handler=handler)
