"""Signed generic webhooks: a JSON POST to the recipient URL that the receiver can verify.

The signature is HMAC-SHA256 over `"{timestamp}." + body` with the tenant's secret, so a
receiver knows the request came from Trellis and was not altered, and (by checking the
timestamp) that it is not an old request replayed. `X-Trellis-Delivery` is the same for every
retry of one delivery: receivers dedupe on it. The URL (the recipient, from the rule) goes
through the outbound guard like every outgoing request.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from trellis.platform.outbound import OutboundPolicy
from trellis.runtime.channels import http
from trellis.runtime.channels.base import (
    DEFAULT_TIMEOUT,
    TIMEOUT_SCHEMA,
    ConfigSchema,
    OutgoingMessage,
)
from trellis.runtime.templates import json_text

SIGNATURE_TOLERANCE = 300  # seconds a receiver accepts between our timestamp and its clock

CONFIG = ConfigSchema("webhook", {
    "type": "object",
    "required": ["secret"],
    "properties": {
        "secret": {"type": "string", "minLength": 16, "maxLength": 1000},
        "timeout": TIMEOUT_SCHEMA,
    },
}, secrets=["secret"])


class WebhookChannel:
    name = "webhook"

    def __init__(self, config: Mapping[str, Any], outbound: OutboundPolicy = OutboundPolicy(),
                 clock: Callable[[], float] = time.time):
        self.config = CONFIG.check(config)
        self.outbound = outbound
        self.timeout = float(self.config.get("timeout", DEFAULT_TIMEOUT))
        self.clock = clock

    def send(self, message: OutgoingMessage) -> None:
        payload = {**message.data, "id": message.id, "subject": message.subject, "body": message.body}
        body = json_text(payload).encode("utf-8")
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Trellis-Delivery": message.id,
            "X-Trellis-Timestamp": timestamp,
            "X-Trellis-Signature": sign(self.config["secret"], timestamp, body),
        }
        http.send("POST", message.recipient, policy=self.outbound, target=message.recipient, timeout=self.timeout,
                  content=body, headers=headers)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `"{timestamp}." + body` under `secret`."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify_signature(secret: str, timestamp: str | int, body: bytes, signature: str, now: float | datetime,
                     tolerance: float = SIGNATURE_TOLERANCE) -> bool:
    """Whether a request is ours and fresh: the signature matches (compared in constant time)
    and the timestamp is within `tolerance` seconds of `now` (Unix seconds or a date-time)."""
    stamp = str(timestamp)
    if not stamp.isascii() or not stamp.isdigit():
        return False
    moment = now.timestamp() if isinstance(now, datetime) else now
    if abs(moment - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body).encode(), signature.encode("utf-8", "replace"))
