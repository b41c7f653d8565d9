"""The `trellis` command: a composition root that wires settings, tenants and metadata services.

Every sub-command returns an exit status: 0 done, 1 refused or invalid input (with every reason
printed to stderr), 2 a usage error. Nothing else imports this module.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.export import write_folder
from trellis.metadata.loader import load_folder
from trellis.platform.progress import ProgressBar
from trellis.platform.settings import Settings, SettingsError
from trellis.platform.tenancy import Installation, TenantError
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, InvalidInput, RuntimeProblem
from trellis.runtime.identity import IdentityError, UserService, check_password, normalise_email
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.csv_io import (
    RowProblem,
    export_csv,
    import_csv,
    object_definition,
    write_problems,
)
from trellis.runtime.records.service import RecordsService
from trellis.runtime.releases import (
    DestructiveChangeRefused,
    MetadataStore,
    PublishResult,
    ReleaseNotFound,
)
from trellis.runtime.services import TenantServices

Handler = Callable[[argparse.Namespace, Installation, TextIO], int]


def _apply(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    started = time.perf_counter()
    metadata = load_folder(Path(args.directory))
    store = MetadataStore(inst.database(args.tenant))
    result = store.publish(metadata, author=args.author, message=args.message or f"apply {args.directory}",
                           source=f"cli:{args.directory}", allow_destructive=args.allow_destructive,
                           dry_run=args.dry_run)
    _print_result(result, args.tenant, out, dry_run=args.dry_run, seconds=time.perf_counter() - started)
    return 0


def _rollback(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    started = time.perf_counter()
    store = MetadataStore(inst.database(args.tenant))
    result = store.rollback(args.number, author=args.author, allow_destructive=args.allow_destructive,
                            dry_run=args.dry_run)
    _print_result(result, args.tenant, out, dry_run=args.dry_run, seconds=time.perf_counter() - started)
    return 0


def _print_result(result: PublishResult, tenant: str, out: TextIO, *, dry_run: bool, seconds: float) -> None:
    base = f"release {result.base}" if result.base else "no release yet"
    if result.no_changes:
        print(f"{tenant}: no changes ({base} already matches)", file=out)
        return
    print(f"{tenant}: changes against {base}:", file=out)
    for line in result.diff.lines():
        print(f"  {line}", file=out)
    print("storage plan (! = destructive):", file=out)
    for line in result.plan.lines():
        print(f"  {line}", file=out)
    if dry_run:
        print("dry run: nothing was published", file=out)
    else:
        assert result.release is not None
        print(f"published release {result.release.number} ({len(result.plan.steps)} storage steps) "
              f"in {seconds:.2f} s", file=out)


def _export(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    release = MetadataStore(inst.database(args.tenant)).current()
    if release is None:
        print(f"{args.tenant}: nothing to export: no release has been published yet", file=sys.stderr)
        return 1
    written = write_folder(release.metadata, Path(args.directory))
    print(f"{args.tenant}: wrote release {release.number} ({len(written)} files) to {args.directory}", file=out)
    return 0


def _history(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    releases = MetadataStore(inst.database(args.tenant)).history()
    if not releases:
        print(f"{args.tenant}: no releases yet", file=out)
    for info in releases:
        when = info.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        print(f"{info.number:>5}  {when}  {info.author:<16} {len(info.diff):>3} change(s)  {info.message}", file=out)
    return 0


def _diff(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    diff = MetadataStore(inst.database(args.tenant)).diff(args.a, args.b)
    print(f"{args.tenant}: release {args.a} -> {args.b}:", file=out)
    for line in diff.lines():
        print(f"  {line}", file=out)
    return 0


def _init(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    inst.init()
    where = inst.settings.database_url and "PostgreSQL" or f"{inst.settings.data_dir}/"
    print(f"initialised Trellis control database in {where}", file=out)
    return 0


def _migrate(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    revisions = inst.migrate()
    print(f"control database up to date; {len(revisions)} tenant(s) migrated", file=out)
    for name, revision in revisions.items():
        print(f"  {name}: {revision}", file=out)
    return 0


def _tenant_create(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    tenant = inst.create_tenant(args.name, args.timezone, args.locale)
    print(f"created tenant {tenant.name} (time zone {tenant.timezone}, locale {tenant.locale})", file=out)
    return 0


def _tenant_list(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    tenants = inst.tenants()
    if not tenants:
        print("no tenants yet; create one with `trellis tenant create NAME`", file=out)
    for t in tenants:
        print(f"{t.name:<24} {t.timezone:<20} {t.locale:<6} {t.created_at:%Y-%m-%d}", file=out)
    return 0


def _user_service(args: argparse.Namespace, inst: Installation) -> UserService:
    db = inst.database(args.tenant)
    return UserService(db, MetadataStore(db))


def _user_create(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    service = _user_service(args, inst)
    normalise_email(args.email)  # a typo is reported before anyone types a password
    password = args.password if args.password is not None else _ask_password()
    user = service.create_user(args.email, name=args.name, password=password, roles=args.role or ())
    print(f"{args.tenant}: created user {user.email} ({user.name}; roles: {', '.join(user.roles) or 'none'})",
          file=out)
    return 0


def _ask_password() -> str:
    """Ask twice on the terminal. Without one (a script, CI) there is nobody to ask: the caller
    must pass --password rather than get a user nobody can sign in as."""
    if not sys.stdin.isatty():
        raise IdentityError("no --password given and no terminal to ask for one: pass --password PASSWORD")
    try:
        password = getpass.getpass("Password: ")
        check_password(password)
        again = getpass.getpass("Password (again): ")
    except EOFError:
        raise IdentityError("no password was entered; nothing was created") from None
    if again != password:
        raise IdentityError("the two passwords differ; nothing was created")
    return password


def _user_list(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    found = _user_service(args, inst).list_users()
    if not found:
        print(f"{args.tenant}: no users yet; create one with `trellis user create --tenant {args.tenant} EMAIL`",
              file=out)
    for user in found:
        roles = ",".join(user.roles) or "-"
        print(f"{user.email:<32} {user.name:<20} {roles:<24} {'active' if user.active else 'inactive'}", file=out)
    return 0


def _role_assign(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    user = _user_service(args, inst).assign_role(args.email, args.role)
    print(f"{args.tenant}: {user.email} now holds {', '.join(user.roles)}", file=out)
    return 0


def _token_create(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    token_id, secret = _user_service(args, inst).create_token(args.user, args.name, args.expires_days)
    expiry = f"expires in {args.expires_days} day(s)" if args.expires_days else "never expires"
    print(f"{args.tenant}: created API token {token_id} for {normalise_email(args.user)} ({expiry})", file=out)
    print(f"  {secret}", file=out)
    print("Copy the token now: it is shown only this once and cannot be shown again.", file=out)
    return 0


def _token_revoke(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    token = _user_service(args, inst).revoke_token(args.token_id)
    assert token.revoked_at is not None
    print(f"{args.tenant}: API token {token.id} ({token.name}, {token.prefix}…, user {token.user_email}) "
          f"is revoked since {token.revoked_at:%Y-%m-%d %H:%M} UTC", file=out)
    return 0


SHOWN_PROBLEMS = 50


def _records_as(args: argparse.Namespace, inst: Installation) -> tuple[RecordsService, Actor]:
    """The tenant's records service and who acts: the system (this is an admin tool), or with
    --as-user that user's permissions."""
    services = TenantServices(inst)
    records = services.records(args.tenant)
    actor = Actor.system() if args.as_user is None else services.users(args.tenant).actor_for(args.as_user)
    return records, actor


def _data_import(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    records, actor = _records_as(args, inst)
    started = time.perf_counter()
    progress = None if args.quiet else ProgressBar(sys.stderr, f"{args.tenant}: importing {args.object}")
    with ExitStack() as stack:  # the report file is opened first: a wrong path fails before the import
        report = None if args.errors is None else stack.enter_context(
            Path(args.errors).open("w", encoding="utf-8-sig", newline=""))  # with a BOM: opened in Excel
        try:
            result = import_csv(records, actor, args.object, Path(args.file), args.mode, on_progress=progress)
        finally:
            if progress is not None:
                progress.close()
        if report is not None:
            write_problems(result.problems, report)
    _print_problems(result.problems, args.errors)
    read = f"{result.file.path.name}: {result.file.description}"
    if result.ignored:
        print(f"not imported, Trellis fills these itself: {', '.join(result.ignored)}", file=out)
    if args.mode == "all-or-nothing" and result.problems:
        print(f"{args.tenant}: nothing was imported: {result.bad_rows:,} of {result.file.rows:,} rows have problems "
              f"({read}); fix them, or import the others with --mode skip-bad-rows", file=sys.stderr)
        return 1
    skipped = f", skipped {result.bad_rows:,}" if args.mode == "skip-bad-rows" else ""
    print(f"{args.tenant}: imported {result.written:,}{skipped} ({args.object} from {read}) "
          f"in {time.perf_counter() - started:.2f} s", file=out)
    if not result.written:
        print("nothing could be imported", file=sys.stderr)
        return 1
    return 0


def _print_problems(problems: Sequence[RowProblem], errors_file: str | None) -> None:
    for problem in problems[:SHOWN_PROBLEMS]:
        column = f", column '{problem.column}'" if problem.column else ""
        print(f"  line {problem.line}{column}: {problem.message}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        where = f"all are in {errors_file}" if errors_file else "--errors FILE writes all of them"
        print(f"  … and {len(problems) - SHOWN_PROBLEMS:,} more ({where})", file=sys.stderr)


def _data_export(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    records, actor = _records_as(args, inst)
    where = None if args.where is None else _json_object("--where", args.where)
    order_by = [_sort_key(text) for text in args.order_by or ()] or None
    with _csv_output(args.output, out) as target:
        count = export_csv(records, actor, args.object, target, where=where, order_by=order_by,
                           locale=args.labels, bom=args.bom)
    where_to = f" to {args.output}" if args.output else ""
    print(f"{args.tenant}: exported {count:,} {args.object} row(s){where_to}",
          file=out if args.output else sys.stderr)  # stdout may be the CSV itself
    return 0


def _json_object(option: str, text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{option} is not valid JSON", [FieldProblem(option, str(error))]) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{option} must be a JSON object", [FieldProblem(option, 'e.g. {"status": {"_eq": "生效"}}')])
    return value


def _sort_key(text: str) -> dict[str, str]:
    """'end_date' or 'end_date:desc' → {'end_date': 'DESC'} (the query compiler checks both)."""
    name, _, direction = text.partition(":")
    return {name.strip(): (direction.strip() or "ASC").upper()}


@contextmanager
def _csv_output(path: str | None, out: TextIO) -> Iterator[TextIO]:
    """stdout, or FILE written aside and renamed when complete: a failed export leaves no half file."""
    if path is None:
        yield out
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            yield handle
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _data_recompute(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    records = TenantServices(inst).records(args.tenant)
    if args.object is not None:
        object_definition(records, args.object)  # a typo is an error, not "0 roll-ups"
    started = time.perf_counter()
    count = records.recompute_rollups(args.object)
    print(f"{args.tenant}: recomputed {count} roll-up(s) of {args.object or 'every object'} "
          f"in {time.perf_counter() - started:.2f} s", file=out)
    return 0


RENEWALS_APP = Path(__file__).resolve().parent.parent / "builtin_apps" / "renewals"
DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.trellis"


def _serve(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    import uvicorn

    from trellis.platform.app import create_app

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
    uvicorn.run("trellis.platform.asgi:create", factory=True, host=args.host, port=args.port, workers=workers,
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trellis", description="Trellis: metadata-driven platform")
    parser.add_argument("--data-dir", help="data directory (env TRELLIS_DATA_DIR, default ./trellis-data)")
    parser.add_argument("--database-url", help="postgresql+psycopg://… (env TRELLIS_DATABASE_URL; default SQLite)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("init", help="create the control database").set_defaults(handler=_init)
    for name, handler, text in (("serve", _serve, "run the web server"),
                                ("demo", _demo, "create a demo tenant with the renewals app and serve it")):
        server = commands.add_parser(name, help=text)
        server.add_argument("--host", default="127.0.0.1")
        server.add_argument("--port", type=int, default=8000)
        server.add_argument("--workers", type=_workers, default=1, metavar="N",
                            help="worker processes (default 1); each keeps its own caches")
        server.set_defaults(handler=handler)
    commands.add_parser("migrate", help="upgrade the system tables of the control database and every tenant"
                        ).set_defaults(handler=_migrate)

    tenant = commands.add_parser("tenant", help="create and list tenants").add_subparsers(
        dest="tenant_command", required=True, metavar="ACTION")
    create = tenant.add_parser("create", help="create a tenant")
    create.add_argument("name")
    create.add_argument("--timezone", help="IANA time zone (default Asia/Shanghai)")
    create.add_argument("--locale", choices=["zh-CN", "en"])
    create.set_defaults(handler=_tenant_create)
    tenant.add_parser("list", help="list tenants").set_defaults(handler=_tenant_list)

    meta = commands.add_parser("metadata", help="apply, export and version metadata").add_subparsers(
        dest="metadata_command", required=True, metavar="ACTION")

    def with_tenant(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--tenant", required=True)
        return p

    def with_publish_flags(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--dry-run", action="store_true", help="show the plan, publish nothing")
        p.add_argument("--allow-destructive", action="store_true",
                       help="apply destructive steps (removed data is kept aside, not deleted)")
        p.add_argument("--author", default=getpass.getuser(), help="recorded with the release")
        return p

    apply = with_publish_flags(with_tenant(meta.add_parser("apply", help="validate, plan and publish a folder")))
    apply.add_argument("directory")
    apply.add_argument("-m", "--message", help="release message")
    apply.set_defaults(handler=_apply)

    export = with_tenant(meta.add_parser("export", help="write the current release as files"))
    export.add_argument("directory")
    export.set_defaults(handler=_export)

    with_tenant(meta.add_parser("history", help="list releases")).set_defaults(handler=_history)

    diff = with_tenant(meta.add_parser("diff", help="what changed between two releases"))
    diff.add_argument("a", type=int)
    diff.add_argument("b", type=int)
    diff.set_defaults(handler=_diff)

    rollback = with_publish_flags(with_tenant(meta.add_parser(
        "rollback", help="publish the content of an earlier release as a new release")))
    rollback.add_argument("number", type=int)
    rollback.set_defaults(handler=_rollback)

    user = commands.add_parser("user", help="create and list users").add_subparsers(
        dest="user_command", required=True, metavar="ACTION")
    create_user = with_tenant(user.add_parser("create", help="create a user (asks for the password)"))
    create_user.add_argument("email")
    create_user.add_argument("--name", help="display name (default: the part of the email before @)")
    create_user.add_argument("--role", action="append", help="admin or a role of the current release (repeatable)")
    create_user.add_argument("--password", help="the password (other local users can see command lines; "
                             "leave it out to be asked)")
    create_user.set_defaults(handler=_user_create)
    with_tenant(user.add_parser("list", help="list users with their roles")).set_defaults(handler=_user_list)

    role = commands.add_parser("role", help="give users roles").add_subparsers(
        dest="role_command", required=True, metavar="ACTION")
    assign = with_tenant(role.add_parser("assign", help="give a user a role"))
    assign.add_argument("email")
    assign.add_argument("role")
    assign.set_defaults(handler=_role_assign)

    token = commands.add_parser("token", help="create and revoke API tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION")
    create_token = with_tenant(token.add_parser("create", help="create an API token (printed once)"))
    create_token.add_argument("--user", required=True, metavar="EMAIL")
    create_token.add_argument("--name", help="what the token is for")
    create_token.add_argument("--expires-days", type=int, metavar="N", help="valid for N days (default: no expiry)")
    create_token.set_defaults(handler=_token_create)
    revoke = with_tenant(token.add_parser("revoke", help="revoke an API token for good"))
    revoke.add_argument("token_id")
    revoke.set_defaults(handler=_token_revoke)

    data = commands.add_parser("data", help="import and export records as CSV, recompute roll-ups").add_subparsers(
        dest="data_command", required=True, metavar="ACTION")

    def as_user(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--as-user", metavar="EMAIL", help="act with this user's permissions (default: the system)")
        return p

    data_import = as_user(with_tenant(data.add_parser(
        "import", help="create records from a CSV file, through every rule of the records service")))
    data_import.add_argument("object")
    data_import.add_argument("file", help="CSV (UTF-8, GB18030 or UTF-16; comma, semicolon or tab); headers are "
                             "field names or labels")
    data_import.add_argument("--mode", choices=["all-or-nothing", "skip-bad-rows"], default="all-or-nothing",
                             help="all-or-nothing (default): one bad row and nothing is written; skip-bad-rows: "
                             "write the good rows")
    data_import.add_argument("--errors", metavar="FILE", help="write every row problem to FILE as CSV "
                             "(line, column, value, message)")
    data_import.add_argument("--quiet", action="store_true", help="no progress on stderr")
    data_import.set_defaults(handler=_data_import)

    data_export = as_user(with_tenant(data.add_parser("export", help="write records as CSV (to stdout by default)")))
    data_export.add_argument("object")
    data_export.add_argument("--where", metavar="JSON", help='a filter, e.g. \'{"status": {"_eq": "生效"}}\'')
    data_export.add_argument("--order-by", action="append", metavar="FIELD[:DESC]", help="sort (repeatable)")
    data_export.add_argument("--labels", choices=["zh-CN", "en"], help="headers are labels in this locale "
                             "(default: API names)")
    data_export.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    data_export.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM (for Excel)")
    data_export.set_defaults(handler=_data_export)

    recompute = with_tenant(data.add_parser("recompute-rollups", help="recompute roll-ups of one object or all "
                                            "(for windows that move with time)"))
    recompute.add_argument("object", nargs="?")
    recompute.set_defaults(handler=_data_recompute)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.data_dir:
            settings = replace(settings, data_dir=Path(args.data_dir))
        if args.database_url:
            settings = replace(settings, database_url=args.database_url)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    installation = Installation(settings)
    try:
        handler: Handler = args.handler
        return handler(args, installation, out)
    except MetadataInvalid as error:
        print(error.render(), file=sys.stderr)
        print("nothing was published", file=sys.stderr)
        return 1
    except (DestructiveChangeRefused, TenantError, ReleaseNotFound, SettingsError, IdentityError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RuntimeProblem as error:
        print(f"error: {error.message}", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    finally:
        installation.dispose()


if __name__ == "__main__":
    sys.exit(main())
