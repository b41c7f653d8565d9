"""SMS through the tenant's HTTP gateway: every provider wants its own request, so the body
is a template the admin writes (`{"to": {{ phone|tojson }}, "msg": {{ text|tojson }}}`).

POST sends the rendered body with `content_type`; GET appends it to the URL as the query
string (write it with `urlencode`: `to={{ phone|urlencode }}&msg={{ text|urlencode }}`).
Header values usually carry the gateway's key, so they are secrets. Any 2xx is success. The
gateway URL goes through the outbound guard: a literal internal address is refused when the
settings are saved (unless the installation's allow-list has it), any other at sending.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

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
from trellis.runtime.templates import TemplateError, Templates

CONFIG = ConfigSchema("sms", {
    "type": "object",
    "required": ["url", "body_template"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
        "method": {"enum": ["POST", "GET"]},
        "headers": {"type": "object", "propertyNames": {"pattern": "^[A-Za-z0-9-]{1,100}$"},
                    "additionalProperties": {"type": "string", "maxLength": 4000}},
        "body_template": {"type": "string", "minLength": 1, "maxLength": 10_000},
        "content_type": {"type": "string", "minLength": 1, "maxLength": 200},
        "timeout": TIMEOUT_SCHEMA,
    },
}, secrets=["headers.*"])

_TEMPLATES = Templates("en", ZoneInfo("UTC"))  # request bodies are machine text: no locale needed


class SmsChannel:
    name = "sms"

    def __init__(self, config: Mapping[str, Any], outbound: OutboundPolicy = OutboundPolicy()):
        self.config = CONFIG.check(config)
        self.outbound = outbound
        refused = outbound.url_refusal(self.config["url"])
        if refused:
            raise ChannelConfigError("the sms settings are not valid", [FieldProblem("sms.url", refused)])
        self.method = self.config.get("method", "POST")
        self.content_type = self.config.get("content_type", "application/json")
        self.timeout = float(self.config.get("timeout", DEFAULT_TIMEOUT))
        try:
            self.body = _TEMPLATES.compile(self.config["body_template"])
        except TemplateError as error:
            raise ChannelConfigError("the sms settings are not valid",
                                     [FieldProblem("sms.body_template", str(error))]) from error

    def send(self, message: OutgoingMessage) -> None:
        if not message.recipient.strip():
            raise DeliveryError("no phone number to send the SMS to", retryable=False)
        try:
            body = self.body.render({"phone": message.recipient.strip(), "text": message.body,
                                     "subject": message.subject, "id": message.id})
        except TemplateError as error:
            raise DeliveryError(f"the SMS body template failed: {error}", retryable=False) from error
        headers = {**self.config.get("headers", {}), "X-Trellis-Delivery": message.id}
        if self.method == "GET":
            http.send("GET", self.config["url"], policy=self.outbound, target=self.config["url"],
                      timeout=self.timeout, headers=headers, params=body.strip())
            return
        if "json" in self.content_type:
            try:
                json.loads(body)
            except ValueError as error:
                raise DeliveryError(f"the SMS body template did not make valid JSON ({error}): {body[:200]}",
                                    retryable=False) from error
        http.send("POST", self.config["url"], policy=self.outbound, target=self.config["url"], timeout=self.timeout,
                  headers={**headers, "Content-Type": self.content_type}, content=body.encode("utf-8"))
