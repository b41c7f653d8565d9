"""Issue 10, finding 1: outgoing HTTP goes through one guard (trellis.runtime.channels.outbound).

Every refused address form (literal IPv4 and IPv6, IPv4 in IPv6 forms, decimal, hex and octal
spellings, names that resolve inside) is refused before any connection; a name is resolved
once and the connection goes to the address that was checked, so DNS rebinding does not pass;
redirects are not followed and proxies from the environment are not used; the operator's
allow-list lets a receiver on 127.0.0.1 through. A rule naming an internal address is refused
at publish with its file and JSON path; a refused delivery is dead at once with the reason, and
the ledger keeps the status of an error answer, never its body.

Names are resolved by a resolver the test passes in its policy (never DNS); every connection
made goes to 127.0.0.1 or 127.0.0.2.
"""

from __future__ import annotations

import ast
import io
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.runtime.automation.world import ACCOUNT, CONTRACT, World
from tests.runtime.channels.receivers import LOOPBACK, Answer, HttpReceiver, resolve_receivers
from trellis.cli import main
from trellis.metadata import MetadataInvalid, load_folder
from trellis.platform.db import Database
from trellis.platform.outbound import ALLOW_SETTING, OutboundPolicy, system_resolve
from trellis.platform.secrets import SecretBox
from trellis.platform.settings import Settings, SettingsError
from trellis.platform.tenancy import Installation
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.channels import ChannelConfigError, ChannelSettings, DeliveryError, SmsChannel
from trellis.runtime.channels import http as channel_http
from trellis.runtime.channels.outbound import OutboundRefused, client
from trellis.runtime.services import TenantServices
from trellis.runtime.worker import Worker

TRELLIS = Path(__file__).resolve().parents[2] / "trellis"
SECRET = "whsec-test-only-0123456789"
LEAK = "INTERNAL-SECRET: db_password=hunter2"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
BOX = SecretBox(Fernet.generate_key().decode())  # the installation key channel settings are sealed with

#: Every way of writing a refused address the guard must see through, with what it is.
REFUSED_LITERALS = [
    ("127.0.0.1", "a loopback address"),
    ("127.1", "a loopback address"),
    ("2130706433", "a loopback address"),
    ("0x7f.1", "a loopback address"),
    ("0x7f000001", "a loopback address"),
    ("017700000001", "a loopback address"),
    ("[::1]", "a loopback address"),
    ("[::ffff:127.0.0.1]", "a loopback address (IPv4 127.0.0.1 written as IPv6)"),
    ("[::ffff:7f00:1]", "a loopback address (IPv4 127.0.0.1 written as IPv6)"),
    ("[64:ff9b::7f00:1]", "a loopback address (IPv4 127.0.0.1 written as IPv6)"),
    ("[2002:7f00:1::]", "a loopback address (IPv4 127.0.0.1 written as IPv6)"),
    ("[::127.0.0.1]", "a reserved (IPv4-compatible) address"),
    ("0.0.0.0", "an unspecified address"),
    ("0", "an unspecified address"),
    ("[::]", "an unspecified address"),
    ("169.254.169.254", "a link-local address"),
    ("[::ffff:169.254.169.254]", "a link-local address (IPv4 169.254.169.254 written as IPv6)"),
    ("[fe80::1]", "a link-local address"),
    ("10.0.0.1", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.254", "a private address"),
    ("192.168.1.1", "a private address"),
    ("[fc00::1]", "a private address"),
    ("[fd12:3456::1]", "a private address"),
    ("100.64.0.1", "a shared (CGNAT) address"),
    ("224.0.0.1", "a multicast address"),
    ("[ff02::1]", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("192.0.2.1", "a reserved address"),
]


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


class Resolver:
    """A resolver for tests: the answers of each name, one per call (the last one repeating),
    every call recorded; other names are the receivers' (receiver.test) or do not resolve."""

    def __init__(self, answers: dict[str, list[list[str]]]):
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.answers:
            return resolve_receivers(host, port)
        answers = self.answers[host]
        return answers[min(self.calls.count(host), len(answers)) - 1]


def never_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} was resolved: an address literal must never be")


def post(url: str, policy: OutboundPolicy, target: str | None = None) -> None:
    channel_http.send("POST", url, policy=policy, target=target or url, timeout=5, headers={}, content=b"{}")


# -- the guard itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "kind"), REFUSED_LITERALS, ids=[h for h, _ in REFUSED_LITERALS])
def test_every_spelling_of_an_internal_address_is_refused_without_connecting(receiver: HttpReceiver, host: str,
                                                                             kind: str):
    url = f"http://{host}:{receiver.port}/hook"
    with pytest.raises(OutboundRefused) as refused:
        post(url, OutboundPolicy(resolve=never_resolve))
    assert refused.value.retryable is False
    assert refused.value.reason.startswith(f"refused to send to {url}: ")
    assert refused.value.reason.endswith(f" is {kind}; allow it with {ALLOW_SETTING}")
    assert receiver.requests == []


@pytest.mark.parametrize(("name", "answer", "kind"), [
    ("localhost", ["127.0.0.1", "::1"], "a loopback address"),
    ("metadata.test", ["169.254.169.254"], "a link-local address"),
    ("mapped.test", ["::ffff:7f00:1"], "a loopback address (IPv4 127.0.0.1 written as IPv6)"),
    ("intranet.test", ["10.1.2.3"], "a private address"),
    ("mixed.test", ["93.184.216.34", "10.0.0.7"], "a private address"),  # one inside is enough
])
def test_a_name_that_resolves_inside_is_refused(receiver: HttpReceiver, name: str, answer: list[str], kind: str):
    resolve = Resolver({name: [answer]})
    with pytest.raises(OutboundRefused) as refused:
        post(f"http://{name}:{receiver.port}/hook", OutboundPolicy(resolve=resolve))
    inside = next(a for a in answer if a != "93.184.216.34")
    assert refused.value.reason.endswith(f"{name} resolves to {inside}, {kind}; allow it with {ALLOW_SETTING}")
    assert resolve.calls == [name] and receiver.requests == []


def test_rebinding_does_not_pass_the_connection_goes_to_the_checked_address(receiver: HttpReceiver):
    """`rebind.test` answers 127.0.0.1 (allowed here, standing in for a public address) the first
    time and 127.0.0.2 (refused) after: the request reaches the address that was checked, and
    the next request, resolved again, is refused; nothing reaches 127.0.0.2."""
    with HttpReceiver("127.0.0.2", receiver.port) as inside:
        resolve = Resolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
        policy = OutboundPolicy.parse("127.0.0.1/32", resolve=resolve)
        post(f"http://rebind.test:{receiver.port}/hook", policy)
        with pytest.raises(OutboundRefused, match="rebind.test resolves to 127.0.0.2, a loopback address"):
            post(f"http://rebind.test:{receiver.port}/hook", policy)
    [request] = receiver.requests
    assert request.headers["Host"] == f"rebind.test:{receiver.port}"  # the URL's name, not the address
    assert inside.requests == []
    assert resolve.calls == ["rebind.test", "rebind.test"]  # once per request, never again to connect


def test_tls_names_the_host_while_connecting_to_the_checked_address(tmp_path: Path):
    """The TLS server name (SNI) and the certificate check use the URL's host name, although the
    socket is opened to the address the guard resolved."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate for the TLS server")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=tls.test",
                    "-addext", "subjectAltName=DNS:tls.test"], check=True, capture_output=True)
    names: list[str | None] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server_context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,func-returns-value]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with HTTPServer(("127.0.0.1", 0), Handler) as server:
        server.socket = server_context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.handle_request, daemon=True).start()
        policy = OutboundPolicy.parse("127.0.0.1", resolve=Resolver({"tls.test": [["127.0.0.1"]]}))
        with client(policy, 5, ssl_context=ssl.create_default_context(cafile=str(cert))) as http:
            assert http.get(f"https://tls.test:{server.server_address[1]}/").status_code == 204
    assert names == ["tls.test"]


def test_redirects_are_not_followed(receiver: HttpReceiver):
    with HttpReceiver() as elsewhere:
        receiver.answer(Answer(status=302, body="", headers=(("Location", f"{elsewhere.url}/inside"),)))
        with pytest.raises(DeliveryError) as caught:
            post(f"{receiver.url}/hook", LOOPBACK)
    assert (caught.value.reason, caught.value.retryable) == (f"HTTP 302 from {receiver.url}/hook", False)
    assert elsewhere.requests == []


def test_proxies_from_the_environment_are_not_used(receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch):
    with HttpReceiver() as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        post(f"{receiver.named_url}/hook", LOOPBACK)
    assert len(receiver.requests) == 1 and proxy.requests == []


def test_a_name_that_does_not_resolve_may_resolve_later():
    with pytest.raises(DeliveryError) as caught:
        post("http://nowhere.test:9/hook", LOOPBACK)
    assert caught.value.retryable and "could not resolve nowhere.test" in caught.value.reason


def test_the_default_policy_refuses_every_internal_address_and_resolves_with_the_system():
    assert OutboundPolicy().allow == () and OutboundPolicy().resolve is system_resolve
    assert Settings().outbound == OutboundPolicy()


# -- the allow-list -------------------------------------------------------------------------------


def test_the_allow_list_lets_a_loopback_receiver_through(receiver: HttpReceiver):
    with pytest.raises(OutboundRefused, match="127.0.0.1 is a loopback address"):
        post(f"{receiver.url}/hook", OutboundPolicy())
    for allow in ("127.0.0.1", "127.0.0.0/8", f"127.0.0.1:{receiver.port}", "receiver.test",
                  f"receiver.test:{receiver.port}"):
        post(f"{receiver.named_url}/hook", OutboundPolicy.parse(allow, resolve=resolve_receivers))
    assert len(receiver.requests) == 5
    other_port = receiver.port + 1 if receiver.port < 65535 else receiver.port - 1
    with pytest.raises(OutboundRefused):  # an entry with a port allows that port only
        post(f"{receiver.url}/hook", OutboundPolicy.parse(f"127.0.0.1:{other_port}"))


def test_the_allow_list_is_read_from_the_environment_once_and_checked():
    settings = Settings.from_env({ALLOW_SETTING: " 10.0.0.0/8, hooks.internal:8443 ,[::1]:9099,192.168.7.7"})
    assert str(settings.outbound) == "10.0.0.0/8, hooks.internal:8443, [::1]:9099, 192.168.7.7"
    assert Settings.from_env({}).outbound == OutboundPolicy()
    with pytest.raises(SettingsError, match=rf"{ALLOW_SETTING}: expected a CIDR .* got 'hooks internal'"):
        Settings.from_env({ALLOW_SETTING: "10.0.0.0/8, hooks internal"})


# -- publish and configure ------------------------------------------------------------------------

REFUSED_AT_PUBLISH = [
    ("http://127.0.0.1:9099/hook", "127.0.0.1 is a loopback address"),
    ("http://localhost:8080/hook", "localhost is this machine (a loopback name)"),
    ("http://LOCALHOST./hook", "localhost. is this machine (a loopback name)"),
    ("http://api.localhost/hook", "api.localhost is this machine (a loopback name)"),
    ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1 is a loopback address (IPv4 127.0.0.1 written as IPv6)"),
    ("http://2130706433/hook", "2130706433 (127.0.0.1) is a loopback address"),
    ("http://0x7f.1/hook", "0x7f.1 (127.0.0.1) is a loopback address"),
    ("http://0177.0.0.1/hook", "0177.0.0.1 (127.0.0.1) is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("https://10.0.0.5/hook", "10.0.0.5 is a private address"),
    ("http://[fd00::5]/hook", "fd00::5 is a private address"),
    ("http://256.0.0.1/hook", "'256.0.0.1' looks like an IPv4 address but a part of it is out of range"),
]


def write_rules(folder: Path, **rules: dict[str, Any]) -> Path:
    (folder / "objects").mkdir(parents=True)
    (folder / "objects" / "contract.json").write_text(json.dumps(CONTRACT))
    (folder / "objects" / "account.json").write_text(json.dumps(ACCOUNT))
    (folder / "workflow_rules").mkdir()
    for name, rule in rules.items():
        (folder / "workflow_rules" / f"{name}.json").write_text(json.dumps(rule))
    return folder


def hook(url: str, **more: Any) -> dict[str, Any]:
    return {"object": "contract", "trigger": {"type": "record", "events": ["created"]},
            "actions": [{"type": "webhook", "url": url, **more}]}


@pytest.mark.parametrize(("url", "why"), REFUSED_AT_PUBLISH, ids=[u for u, _ in REFUSED_AT_PUBLISH])
def test_a_rule_posting_to_an_internal_address_does_not_publish(tmp_path: Path, url: str, why: str):
    with pytest.raises(MetadataInvalid) as refused:
        load_folder(write_rules(tmp_path, leak=hook(url)))
    [error] = refused.value.errors
    assert (error.file, error.path) == ("workflow_rules/leak.json", "$.actions[0].url")
    assert error.message.startswith(f"refused: {why}. A rule may not post inside the installation")
    assert error.message.endswith(f"allows its address at run time with {ALLOW_SETTING}")


def test_a_rule_posting_to_a_public_name_publishes_and_its_fields_must_exist(tmp_path: Path):
    assert load_folder(write_rules(tmp_path / "good", public=hook("https://hooks.example.com/x"),
                                   named=hook("http://receiver.test:9/x", fields=["name", "amount", "owner_id"])))
    with pytest.raises(MetadataInvalid) as refused:
        load_folder(write_rules(tmp_path / "bad", named=hook("https://hooks.example.com/x", fields=["name", "amout"])))
    [error] = refused.value.errors
    assert (error.file, error.path) == ("workflow_rules/named.json", "$.actions[0].fields[1]")
    assert "'amout' is not a field of contract" in error.message and "did you mean 'amount'?" in error.message


def test_trellis_metadata_apply_refuses_it_and_publishes_nothing(installation: Installation, settings: Settings,
                                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    installation.create_tenant("acme")
    folder = write_rules(tmp_path / "rules", leak=hook("http://127.0.0.1:9099/internal"))
    assert main(["metadata", "apply", str(folder), "--tenant", "acme"], settings=settings) == 1
    err = capsys.readouterr().err
    assert "workflow_rules/leak.json" in err and "$.actions[0].url" in err and "nothing was published" in err
    assert "127.0.0.1 is a loopback address" in err


def test_channel_urls_naming_an_internal_address_are_refused_when_configured(tenant_db: Database):
    gateway = {"url": "http://127.0.0.1:9/send", "body_template": "{{ text }}", "content_type": "text/plain"}
    with pytest.raises(ChannelConfigError) as refused:
        ChannelSettings(tenant_db, BOX).configure("sms", gateway, updated_by="admin", now=NOW)
    [problem] = refused.value.problems
    assert (problem.path, problem.message) == ("sms.url", f"127.0.0.1 is a loopback address; allow it with "
                                                          f"{ALLOW_SETTING}")
    robots = {"robots": {"ops": "http://169.254.169.254/cgi-bin/webhook/send?key=SECRET-KEY-1"}}
    with pytest.raises(ChannelConfigError) as refused:
        ChannelSettings(tenant_db, BOX).configure("wecom", robots, updated_by="admin", now=NOW)
    [problem] = refused.value.problems
    assert problem.path == "wecom.robots.ops" and "169.254.169.254 is a link-local address" in problem.message
    assert "SECRET-KEY-1" not in str(refused.value)  # the robot's URL holds its key
    assert ChannelSettings(tenant_db, BOX).masked() == {}  # nothing was saved


@pytest.mark.parametrize(("url", "why"), [("http://gw.example:99999/send", "it is not a usable URL"),
                                          ("http://300.1.1.1/send", "looks like an IPv4 address"),
                                          ("http://10.9.8.7/send", "10.9.8.7 is a private address; allow it")])
def test_a_gateway_url_is_checked_before_it_is_saved(url: str, why: str):
    gateway = {"url": url, "body_template": "{{ text }}", "content_type": "text/plain"}
    with pytest.raises(ChannelConfigError) as refused:
        SmsChannel(gateway, LOOPBACK)
    [problem] = refused.value.problems
    assert problem.path == "sms.url" and why in problem.message


def test_the_allow_list_admits_a_configured_loopback_url_until_it_is_withdrawn(tenant_db: Database):
    gateway = {"url": "http://127.0.0.1:9/send", "body_template": "{{ text }}", "content_type": "text/plain"}
    ChannelSettings(tenant_db, BOX, outbound=LOOPBACK).configure("sms", gateway, updated_by="admin", now=NOW)
    assert ChannelSettings(tenant_db, BOX, outbound=LOOPBACK).channel("sms").name == "sms"
    with pytest.raises(DeliveryError) as caught:
        ChannelSettings(tenant_db, BOX).channel("sms")  # an installation without the allow-list
    assert caught.value.retryable is False and "127.0.0.1 is a loopback address" in caught.value.reason


# -- through the worker: the ledger ---------------------------------------------------------------


@pytest.fixture
def world(installation: Installation) -> World:
    return World.create(installation)


def run_worker_once(settings: Settings, outbound: OutboundPolicy, world: World) -> None:
    """One tick of a worker of an installation whose settings carry `outbound`, as the
    environment's TRELLIS_OUTBOUND_ALLOW would: Settings -> TenantServices -> Worker -> Dispatcher."""
    installation = Installation(replace(settings, outbound=outbound))
    try:
        Worker(TenantServices(installation), ["acme"], clock=world.clock).tick()
    finally:
        installation.dispose()


def test_a_refused_delivery_is_dead_at_once_with_the_reason(world: World, settings: Settings,
                                                            receiver: HttpReceiver):
    url = f"http://internal.test:{receiver.port}/hook"  # a name: publish cannot know where it leads
    world.publish(leak=hook(url))
    world.configure("webhook", {"secret": SECRET})
    world.contract("Cloud plan", date(2026, 6, 30))
    run_worker_once(settings, OutboundPolicy(resolve=Resolver({"internal.test": [["127.0.0.1"]]})), world)
    [row] = world.deliveries()
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert row["last_error"] == f"refused to send to {url}: internal.test resolves to 127.0.0.1, a loopback " \
                                f"address; allow it with {ALLOW_SETTING}"
    assert receiver.requests == []


def test_the_ledger_keeps_the_status_of_an_error_never_its_body(world: World, settings: Settings,
                                                                 receiver: HttpReceiver,
                                                                 capsys: pytest.CaptureFixture[str]):
    url = f"{receiver.named_url}/admin"
    world.publish(leak=hook(url))
    world.configure("webhook", {"secret": SECRET})
    world.contract("Cloud plan", date(2026, 6, 30))
    receiver.answer(Answer(status=403, body=LEAK))
    run_worker_once(settings, LOOPBACK, world)  # allowed: the operator's receiver answers with a secret
    [row] = world.deliveries()
    assert len(receiver.requests) == 1
    assert (row["status"], row["last_error"]) == ("dead", f"HTTP 403 from {url}")
    out = io.StringIO()
    assert main(["rules", "deliveries", "--tenant", "acme"], out=out, settings=settings) == 0
    assert f"HTTP 403 from {url}" in out.getvalue() and "INTERNAL-SECRET" not in out.getvalue()
    with world.db.read() as conn:
        assert all("INTERNAL-SECRET" not in str(v) for r in conn.execute(deliveries.select()) for v in r)


# -- one place --------------------------------------------------------------------------------------

HTTP_CLIENTS = ("httpx", "httpcore", "urllib.request", "urllib3", "http.client", "requests", "aiohttp")
THE_GUARD = {"trellis/runtime/channels/http.py", "trellis/runtime/channels/outbound.py"}


def imported_modules(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_only_the_guard_imports_an_http_client():
    offenders = []
    for path in sorted(TRELLIS.rglob("*.py")):
        where = str(path.relative_to(TRELLIS.parent))
        used = {m for m in imported_modules(ast.parse(path.read_text(encoding="utf-8")))
                if any(m == c or m.startswith(f"{c}.") for c in HTTP_CLIENTS)}
        if used and where not in THE_GUARD:
            offenders.append(f"{where}: {', '.join(sorted(used))}")
    assert offenders == [], "outgoing HTTP must go through trellis/runtime/channels/http.py (the outbound guard)"

