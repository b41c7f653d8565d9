"""What every channel shares: the message, the one interface, the error that says whether a
retry can help, and per-channel settings checked against a JSON Schema with their secrets known.

The dispatcher only ever sees `Channel.send` and `DeliveryError`; it retries a retryable error
with backoff and marks the delivery dead otherwise, so each adapter's one job besides sending
is to classify its failures honestly.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jsonschema import Draft202012Validator

from trellis.metadata.suggestions import suggest
from trellis.runtime.errors import FieldProblem
from trellis.runtime.records.messages import field_problems

MASK = "••••••"  # what admins see instead of a secret
DEFAULT_TIMEOUT = 10.0  # seconds
TIMEOUT_SCHEMA = {"type": "number", "exclusiveMinimum": 0, "maximum": 120}


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered message to one recipient over one channel."""

    id: str  # the delivery id: an idempotency key receivers can dedupe on
    channel: str  # email, sms, wecom, webhook, in_app
    recipient: str  # email address, phone number, WeCom robot name, webhook URL, or user id (in_app)
    subject: str
    body: str  # plain text (WeCom: markdown)
    data: Mapping[str, Any] = field(default_factory=dict)  # webhook JSON body; in_app: object, record_id


class DeliveryError(Exception):
    """The receiver did not accept the message. `retryable` says whether the same message may
    yet succeed (a timeout, a busy server) or never will (a refused address, bad settings)."""

    def __init__(self, reason: str, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Channel(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> None:
        """Return once the receiver accepted the message; raise DeliveryError otherwise."""
        ...


class ChannelConfigError(ValueError):
    """Channel settings that cannot be used; `problems` name each one's path (`email.port`)."""

    def __init__(self, message: str, problems: Sequence[FieldProblem] = ()):
        self.message = message
        self.problems = tuple(problems)
        detail = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{message}: {detail}" if detail else message)


class ConfigSchema:
    """One channel's settings: a JSON Schema (checked and compiled once) and where its secrets
    are, as dotted paths in which `*` stands for every key of a map (`headers.*`)."""

    def __init__(self, channel: str, schema: Mapping[str, Any], secrets: Sequence[str] = ()):
        Draft202012Validator.check_schema(schema)
        self.channel = channel
        self.schema = schema  # what a settings form is made from (the designer's channel page)
        self.settings = tuple(schema["properties"])
        self.secrets = tuple(tuple(path.split(".")) for path in secrets)
        self._validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def check(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """A plain copy of valid settings, or ChannelConfigError naming the path of each problem
        (with any secret in it masked, since error messages end up in logs)."""
        if not isinstance(config, Mapping):
            raise ChannelConfigError(f"the {self.channel} settings must be an object, got {type(config).__name__}")
        values: dict[str, Any] = copy.deepcopy(dict(config))
        known = ", ".join(self.settings)
        problems = [FieldProblem(key, f"unknown setting (expected one of: {known}){suggest(key, self.settings)}")
                    for key in values if key not in self.settings]
        problems += field_problems(self._validator, values)
        if problems:
            shown = [FieldProblem(f"{self.channel}.{p.path}", self._hide_secrets(values, p.message)) for p in problems]
            raise ChannelConfigError(f"the {self.channel} settings are not valid", shown)
        return values

    def masked(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The settings as admins see them: every secret that is set replaced by MASK."""
        shown = copy.deepcopy(dict(config))
        for container, key, _path in self._slots(shown):
            if container.get(key) not in (None, ""):
                container[key] = MASK
        return shown

    def keep_secrets(self, config: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
        """`config` with each secret that is left out or given as MASK taken from `stored`, so an
        admin can change other settings without typing the secrets again."""
        if not isinstance(config, Mapping):
            return self.check(config)  # which says what is wrong with it
        merged = copy.deepcopy(dict(config))
        kept = {path: container[key] for container, key, path in self._slots(dict(stored))
                if key in container}
        problems = []
        for container, key, path in self._slots(merged):
            if container.get(key, MASK) != MASK:
                continue
            if path in kept:
                container[key] = kept[path]
            elif key in container:
                problems.append(FieldProblem(f"{self.channel}.{'.'.join(path)}",
                                             "no stored value to keep; give the secret itself"))
        if problems:
            raise ChannelConfigError(f"the {self.channel} settings are not valid", problems)
        return merged

    def _slots(self, config: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, tuple[str, ...]]]:
        """(container, key, path) of every secret of `config`: each key of a `*` map, and each
        fixed name whether it is set or not."""
        for *parents, last in self.secrets:
            container: Any = config
            for part in parents:
                container = container.get(part) if isinstance(container, dict) else None
            if isinstance(container, dict):
                for key in (list(container) if last == "*" else [last]):
                    yield container, key, (*parents, key)

    def _hide_secrets(self, config: dict[str, Any], message: str) -> str:
        for container, key, _path in self._slots(config):
            value = container.get(key)
            if isinstance(value, str) and value:
                message = message.replace(value, MASK)
        return message
