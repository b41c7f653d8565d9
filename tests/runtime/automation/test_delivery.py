"""Deliveries through real receivers on 127.0.0.1: email into an SMTP server, SMS, WeCom and a
signed webhook into HTTP receivers; failures retried with backoff, then dead-lettered; a worker
killed with SIGKILL mid-batch loses and repeats nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from tests.runtime.automation.world import REMINDER, SHANGHAI, World
from tests.runtime.channels.receivers import LOOPBACK, Answer, HttpReceiver, smtp_server
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.automation.preview import PreviewItem, preview
from trellis.runtime.channels import verify_signature

SECRET = "whsec-test-only-0123456789"
REPO = Path(__file__).resolve().parents[3]  # where `python -m tests.…` finds the tests package


@pytest.fixture
def world(installation: Installation) -> World:
    world = World.create(installation)
    world.outbound = LOOPBACK  # the receivers are on 127.0.0.1; rules name them as receiver.test
    return world


def on_create(*actions: dict) -> dict:
    return {"object": "contract", "trigger": {"type": "record", "events": ["created"]}, "actions": list(actions)}


def test_reminder_email_arrives_rendered_in_an_smtp_server(world: World):
    email = {**REMINDER, "actions": [{
        "type": "notify", "channel": "email", "to": [{"user_field": "owner_id"}, {"field": "contact_email"}],
        "subject": "【续约提醒】{{ record.name }} 将于 {{ record.end_date | date }} 到期",
        "body": "{{ recipient.name or '客户' }}，您好：合同金额 {{ record.amount | money }}。"}]}
    world.publish(ending=email)
    contract = world.contract("云服务年费", date(2026, 3, 31), contact_email="buyer@customer.test")
    with smtp_server() as (smtp, port):
        world.configure("email", {"host": "127.0.0.1", "port": port, "security": "none",
                                  "from_address": "renewals@acme.test", "from_name": "续约提醒"})
        world.scan()
        world.clock.advance(days=1)
        world.scan()
        assert world.dispatch().sent == 2
        messages = sorted(smtp.messages(), key=lambda m: m["To"])
    assert [m["To"] for m in messages] == ["alice@acme.test", "buyer@customer.test"]
    assert messages[0]["Subject"] == "【续约提醒】云服务年费 将于 2026年3月31日 到期"
    assert messages[0].get_content().strip() == "Alice，您好：合同金额 ¥12,345.50。"
    assert messages[1].get_content().strip() == "客户，您好：合同金额 ¥12,345.50。"
    ids = {d["id"] for d in world.deliveries(record_id=contract)}
    assert {m["Message-ID"].strip("<>").split("@")[0] for m in messages} == ids


def test_sms_wecom_and_signed_webhook_receive_their_payloads(world: World):
    with HttpReceiver() as gateway, HttpReceiver() as robot, HttpReceiver() as hook:
        world.publish(created=on_create(
            {"type": "notify", "channel": "sms", "to": [{"address": "+8613800000000"}],
             "body": "{{ record.name }} 已创建"},
            {"type": "notify", "channel": "wecom", "to": [{"address": "renewals"}], "subject": "新合同",
             "body": "**{{ record.name }}** {{ record.amount | money }}"},
            {"type": "webhook", "url": f"{hook.named_url}/trellis", "event": "contract_created"},
        ))
        world.configure("sms", {"url": f"{gateway.url}/send", "headers": {"X-Api-Key": "k-123"},
                                "body_template": '{"to": {{ phone | tojson }}, "text": {{ text | tojson }}}'})
        robot.answer(Answer(body={"errcode": 0, "errmsg": "ok"}))
        world.configure("wecom", {"robots": {"renewals": f"{robot.url}/cgi-bin/webhook/send?key=abc"}})
        world.configure("webhook", {"secret": SECRET})
        contract = world.contract("云服务年费", date(2026, 6, 30))
        assert world.dispatch().sent == 3
    sms, = gateway.requests
    assert sms.json() == {"to": "+8613800000000", "text": "云服务年费 已创建"}
    assert sms.headers["X-Api-Key"] == "k-123"
    wecom, = robot.requests
    assert wecom.json() == {"msgtype": "markdown", "markdown": {"content": "**新合同**\n**云服务年费** ¥12,345.50"}}
    call, = hook.requests
    assert call.path == "/trellis"
    body = call.json()
    assert (body["event"], body["record_id"], body["record"]["name"]) == ("contract_created", contract, "云服务年费")
    timestamp, signature = call.headers["X-Trellis-Timestamp"], call.headers["X-Trellis-Signature"]
    assert verify_signature(SECRET, timestamp, call.body, signature, now=int(timestamp))
    assert not verify_signature("another secret", timestamp, call.body, signature, now=int(timestamp))


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(world: World):
    with HttpReceiver() as hook:
        world.publish(created=on_create({"type": "webhook", "url": f"{hook.named_url}/down"}))
        world.configure("webhook", {"secret": SECRET})
        hook.answer(*[Answer(status=503, body="maintenance")] * 10)
        world.contract("C1", date(2026, 6, 30))
        assert world.dispatch().retrying == 1
        assert world.dispatch().claimed == 0  # not yet: backing off 10 s
        world.clock.advance(seconds=10)
        assert world.dispatch().retrying == 1  # attempt 2, next in 20 s
        world.clock.advance(seconds=19)
        assert world.dispatch().claimed == 0
        world.clock.advance(seconds=1)
        assert world.dispatch().dead == 1  # attempt 3 of 3
        assert len(hook.requests) == 3
    dead, = world.deliveries()
    assert dead["status"] == "dead" and dead["attempts"] == 3
    assert dead["last_error"].startswith("gave up after 3 attempts: HTTP 503")


def test_a_permanent_refusal_is_dead_at_once_with_the_reason(world: World):
    with HttpReceiver() as hook:
        world.publish(created=on_create({"type": "webhook", "url": f"{hook.named_url}/gone"}))
        world.configure("webhook", {"secret": SECRET})
        hook.answer(Answer(status=410, body="no such hook"))
        world.contract("C1", date(2026, 6, 30))
        assert world.dispatch().dead == 1
    dead, = world.deliveries()
    assert dead["attempts"] == 1 and "HTTP 410" in dead["last_error"]


def test_an_unconfigured_channel_is_dead_lettered_and_can_be_retried(world: World):
    world.publish(created=on_create({"type": "notify", "channel": "sms", "to": [{"address": "+861"}], "body": "hi"}))
    world.contract("C1", date(2026, 6, 30))
    assert world.dispatch().dead == 1
    assert "not configured" in world.deliveries()[0]["last_error"]


def test_a_worker_killed_mid_batch_sends_each_message_once(world: World, settings: Settings):
    with HttpReceiver() as hook:
        world.publish(created=on_create({"type": "webhook", "url": f"{hook.named_url}/in"}))
        world.configure("webhook", {"secret": SECRET})
        for i in range(10):
            world.contract(f"C{i}", date(2026, 6, 30))
        hook.answer(Answer(), Answer(), Answer(status=200, delay=60))  # the third call hangs until the kill
        command = [sys.executable, "-m", "tests.runtime.automation.worker_process", "--data-dir", str(settings.data_dir)]
        if settings.database_url:
            command += ["--database-url", settings.database_url]
        command += ["worker", "--tenant", "acme", "--interval", "0.2", "--lease", "3", "--batch", "10"]
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
        try:
            _wait_for(lambda: len(hook.requests) >= 3, what="the third webhook call", process=first)
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        statuses = Counter(d["status"] for d in world.deliveries())
        assert statuses == {"sent": 2, "sending": 8}  # the batch was claimed; two went out
        second = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
        try:
            _wait_for(lambda: Counter(d["status"] for d in world.deliveries()) == {"sent": 10},
                      what="every delivery sent", process=second, timeout=30)
        finally:
            second.terminate()
            second.wait(timeout=10)
    # the hung third call never got its answer: not delivered; every other call was acknowledged
    acknowledged = [r.headers["X-Trellis-Delivery"] for i, r in enumerate(hook.requests) if i != 2]
    assert sorted(acknowledged) == sorted(d["id"] for d in world.deliveries())
    assert hook.requests[2].headers["X-Trellis-Delivery"] in acknowledged  # sent again after the lease ran out


def _wait_for(check, what: str, process: subprocess.Popen, timeout: float = 20) -> None:  # type: ignore[no-untyped-def,type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}) before {what}: "
                                 f"{process.stderr.read().decode() if process.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_preview_lists_reminders_day_by_day_without_sending(world: World):
    registry = world.publish(ending=REMINDER)
    cloud = world.contract("Cloud plan", date(2026, 3, 8))
    world.contract("Auto plan", date(2026, 3, 8), auto_renew=True)

    def show() -> list[PreviewItem]:
        return preview(world.db, registry, SHANGHAI, "zh-CN", world.clock.now, 10)

    assert [(i.day, i.step, i.outcome, i.channel) for i in show()] == [
        (date(2026, 3, 1), "-7d", "fired", "in_app"), (date(2026, 3, 1), "-7d", "skipped", None),
        (date(2026, 3, 8), "0d", "fired", "in_app"), (date(2026, 3, 8), "0d", "skipped", None)]
    assert show()[0].subject == "Cloud plan ends 2026年3月8日"
    assert world.runs() == [] and world.deliveries() == []  # nothing recorded, nothing sent
    world.records().update(Actor.system(), "contract", cloud, {"status": "cancelled"})
    assert [i.outcome for i in show()] == ["skipped"] * 4
