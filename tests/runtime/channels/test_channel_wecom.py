"""The WeCom group-robot channel against a real HTTP stand-in on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.runtime.channels.receivers import LOOPBACK, Answer, HttpReceiver
from trellis.runtime.channels import DeliveryError, OutgoingMessage, WeComChannel

MESSAGE = OutgoingMessage(id="d-1", channel="wecom", recipient="renewals", subject="合同即将到期",
                          body="> 客户：**上海示例**\n> 金额：¥1,234.50")


def wecom(config: dict[str, object]) -> WeComChannel:
    """The channel, allowed to reach the robot stand-in on 127.0.0.1."""
    return WeComChannel(config, LOOPBACK)


def robots(url: str, **extra: object) -> dict[str, object]:
    return {"robots": {"renewals": f"{url}/cgi-bin/webhook/send?key=SECRET-KEY-1"}, **extra}


def test_markdown_in_wecoms_documented_shape(receiver: HttpReceiver):
    receiver.answer(Answer(body={"errcode": 0, "errmsg": "ok"}))
    wecom(robots(receiver.url)).send(MESSAGE)
    [request] = receiver.requests
    assert request.path == "/cgi-bin/webhook/send?key=SECRET-KEY-1"
    assert request.json() == {"msgtype": "markdown", "markdown": {"content": f"**合同即将到期**\n{MESSAGE.body}"}}


def test_text_format(receiver: HttpReceiver):
    receiver.answer(Answer(body={"errcode": 0, "errmsg": "ok"}))
    wecom(robots(receiver.url, format="text")).send(MESSAGE)
    assert receiver.requests[0].json() == {"msgtype": "text", "text": {"content": f"合同即将到期\n{MESSAGE.body}"}}


@pytest.mark.parametrize(("errcode", "retryable"), [(45009, True), (-1, True), (93000, False), (40058, False)])
def test_an_errcode_is_a_failure(receiver: HttpReceiver, errcode: int, retryable: bool):
    receiver.answer(Answer(body={"errcode": errcode, "errmsg": "refused"}))
    with pytest.raises(DeliveryError) as caught:
        wecom(robots(receiver.url)).send(MESSAGE)
    assert caught.value.retryable is retryable
    assert caught.value.reason == f"WeCom robot renewals refused the message: errcode {errcode}"  # not its words


def test_reasons_name_the_robot_never_its_key(receiver: HttpReceiver):
    receiver.answer(Answer(status=500, body="busy"))
    with pytest.raises(DeliveryError) as caught:
        wecom(robots(receiver.url)).send(MESSAGE)
    assert caught.value.retryable
    assert caught.value.reason == "HTTP 500 from WeCom robot renewals"


def test_an_unknown_robot_is_not_retried(receiver: HttpReceiver):
    with pytest.raises(DeliveryError) as caught:
        wecom(robots(receiver.url)).send(OutgoingMessage(id="d", channel="wecom", recipient="sales",
                                                                subject="s", body="b"))
    assert not caught.value.retryable
    assert caught.value.reason == "no WeCom robot named 'sales' (robots: renewals)"
    assert receiver.requests == []
