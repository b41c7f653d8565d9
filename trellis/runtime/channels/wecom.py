"""WeCom (企业微信) group robots: each robot is a webhook URL whose `key` parameter is its
secret; messages name the robot, never the URL, so the key stays in the settings.

WeCom answers HTTP 200 even when it refuses a message, with `{"errcode": …, "errmsg": …}` in
the body: only errcode 0 is success. 45009 (sending too often) and -1 (busy) pass with time.
Reasons keep the errcode, never WeCom's words nor any other part of the answer (see `http`).
Robot URLs go through the outbound guard like every outgoing request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.platform.outbound import OutboundPolicy
from trellis.runtime.channels import http
from trellis.runtime.channels.base import (
    DEFAULT_TIMEOUT,
    TIMEOUT_SCHEMA,
    ChannelConfigError,
    ConfigSchema,
    DeliveryError,
    OutgoingMessage,
)
from trellis.runtime.errors import FieldProblem
from trellis.runtime.templates import json_text

RETRYABLE_ERRCODES = frozenset({-1, 45009})  # busy; too many messages per minute

CONFIG = ConfigSchema("wecom", {
    "type": "object",
    "required": ["robots"],
    "properties": {
        "robots": {"type": "object", "minProperties": 1, "propertyNames": {"minLength": 1, "maxLength": 64},
                   "additionalProperties": {"type": "string", "pattern": "^https?://", "maxLength": 2000}},
        "format": {"enum": ["markdown", "text"]},
        "timeout": TIMEOUT_SCHEMA,
    },
}, secrets=["robots.*"])


class WeComChannel:
    name = "wecom"

    def __init__(self, config: Mapping[str, Any], outbound: OutboundPolicy = OutboundPolicy()):
        self.config = CONFIG.check(config)
        self.outbound = outbound
        self.robots: dict[str, str] = self.config["robots"]
        refused = [FieldProblem(f"wecom.robots.{name}", problem) for name, url in self.robots.items()
                   if (problem := outbound.url_refusal(url))]  # the host only: the URL holds the key
        if refused:
            raise ChannelConfigError("the wecom settings are not valid", refused)
        self.format = self.config.get("format", "markdown")
        self.timeout = float(self.config.get("timeout", DEFAULT_TIMEOUT))

    def send(self, message: OutgoingMessage) -> None:
        robot = message.recipient
        url = self.robots.get(robot)
        if url is None:
            raise DeliveryError(f"no WeCom robot named {robot!r} (robots: {', '.join(sorted(self.robots))})",
                                retryable=False)
        target = f"WeCom robot {robot}"
        response = http.send("POST", url, policy=self.outbound, target=target, timeout=self.timeout,
                             content=self.payload(message), headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            errcode = response.json()["errcode"]
        except (ValueError, TypeError, KeyError):
            errcode = None
        if not isinstance(errcode, int) or isinstance(errcode, bool):
            raise DeliveryError(f"{target} gave an answer that is not WeCom's (HTTP {response.status_code} without "
                                "a numeric errcode)")
        if errcode != 0:
            raise DeliveryError(f"{target} refused the message: errcode {errcode}",
                                retryable=errcode in RETRYABLE_ERRCODES)

    def payload(self, message: OutgoingMessage) -> bytes:
        """The request body in WeCom's documented shape for the configured format."""
        if self.format == "markdown":
            content = f"**{message.subject}**\n{message.body}" if message.subject else message.body
        else:
            content = f"{message.subject}\n{message.body}" if message.subject else message.body
        return json_text({"msgtype": self.format, self.format: {"content": content}}).encode("utf-8")
