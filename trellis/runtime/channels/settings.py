"""Per-tenant channel settings, one JSON row per channel in `channel_settings`, sealed with the
installation key (`trellis.platform.secrets`): a copied database or backup shows no password.

Admins see settings masked: a secret is shown as MASK, never itself nor any part of it, and
sending the mask back (or leaving the secret out) keeps the stored one, so changing a port does
not mean typing the password again. A configuration is saved only when the adapter accepts it
(schema, then what only the adapter can check, such as a body template's syntax), in one
transaction: a refused change leaves the previous settings as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from trellis.metadata.suggestions import suggest
from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.platform.outbound import OutboundPolicy
from trellis.platform.secrets import SecretBox, is_sealed
from trellis.runtime.channels import email, sms, webhook, wecom
from trellis.runtime.channels.base import Channel, ChannelConfigError, ConfigSchema, DeliveryError
from trellis.runtime.channels.email import EmailChannel
from trellis.runtime.channels.in_app import InAppChannel
from trellis.runtime.channels.sms import SmsChannel
from trellis.runtime.channels.tables import channel_settings
from trellis.runtime.channels.webhook import WebhookChannel
from trellis.runtime.channels.wecom import WeComChannel

IN_APP = "in_app"

#: The configurable channels: their settings and how to build the adapter from them and the
#: installation's outbound policy (which HTTP channels send through; SMTP is not HTTP).
ADAPTERS: dict[str, tuple[ConfigSchema, Callable[[Mapping[str, Any], OutboundPolicy], Channel]]] = {
    "email": (email.CONFIG, lambda config, _outbound: EmailChannel(config)),
    "sms": (sms.CONFIG, SmsChannel),
    "wecom": (wecom.CONFIG, WeComChannel),
    "webhook": (webhook.CONFIG, WebhookChannel),
}
CHANNELS = (*ADAPTERS, IN_APP)


class ChannelSettings:
    """The channels of one tenant: settings for admins, adapters for the dispatcher."""

    def __init__(self, db: Database, secrets: SecretBox, clock: Clock = utc_now, *,
                 outbound: OutboundPolicy = OutboundPolicy()):
        self.db = db
        self.secrets = secrets
        self.clock = clock
        self.outbound = outbound  # the installation's: what an HTTP channel may reach

    def configure(self, channel: str, config: Mapping[str, Any], updated_by: str, now: datetime) -> dict[str, Any]:
        """Validate and save one channel's settings; the answer is what `masked` will show."""
        schema, build = _adapter(channel)
        with self.db.write() as conn:
            stored = self._stored(conn, channel)
            checked = schema.check(schema.keep_secrets(config, stored or {}))
            build(checked, self.outbound)  # what only the adapter can check: a template's syntax, a URL's host
            values = {"config": self._seal(checked), "updated_by": updated_by, "updated_at": now}
            if stored is None:
                conn.execute(insert(channel_settings).values(channel=channel, **values))
            else:
                conn.execute(update(channel_settings).where(channel_settings.c.channel == channel).values(**values))
        return schema.masked(checked)

    def masked(self, channel: str | None = None) -> dict[str, Any]:
        """What admins see: one channel's settings ({} when not configured), or, without a
        name, every configured channel's by name. Secrets are MASK."""
        if channel is not None:
            schema, _build = _adapter(channel)
            with self.db.read() as conn:
                return schema.masked(self._stored(conn, channel) or {})
        with self.db.read() as conn:
            rows = conn.execute(select(channel_settings.c.channel, channel_settings.c.config)
                                .order_by(channel_settings.c.channel)).all()
        return {name: ADAPTERS[name][0].masked(self._open(text)) for name, text in rows if name in ADAPTERS}

    def seal_stored(self) -> int:
        """Seal settings written before sealing existed; returns how many rows it sealed."""
        with self.db.write() as conn:
            rows = conn.execute(select(channel_settings.c.channel, channel_settings.c.config)).all()
            plain = [(name, text) for name, text in rows if not is_sealed(text)]
            for name, text in plain:
                conn.execute(update(channel_settings).where(channel_settings.c.channel == name)
                             .values(config=self.secrets.seal(text)))
        return len(plain)

    def channel(self, name: str) -> Channel:
        """The adapter to send with; DeliveryError (not retryable) when the tenant has not set
        the channel up or its stored settings no longer pass."""
        if name == IN_APP:
            return InAppChannel(self.db, self.clock)
        if name not in ADAPTERS:
            raise DeliveryError(f"no channel {name!r} (channels: {', '.join(CHANNELS)}){suggest(name, CHANNELS)}",
                                retryable=False)
        with self.db.read() as conn:
            stored = self._stored(conn, name)
        if stored is None:
            raise DeliveryError(f"channel {name} is not configured for this tenant; an admin must set it up "
                                "before messages can be sent over it", retryable=False)
        try:
            return ADAPTERS[name][1](stored, self.outbound)
        except ChannelConfigError as error:
            raise DeliveryError(f"the stored settings of channel {name} are no longer valid: {error}",
                                retryable=False) from error

    def _stored(self, conn: Connection, channel: str) -> dict[str, Any] | None:
        text = conn.execute(select(channel_settings.c.config).where(channel_settings.c.channel == channel)).scalar()
        return None if text is None else self._open(text)

    def _open(self, stored: str) -> dict[str, Any]:
        opened: dict[str, Any] = json.loads(self.secrets.open(stored))
        return opened

    def _seal(self, config: Mapping[str, Any]) -> str:
        return self.secrets.seal(json.dumps(config, ensure_ascii=False))


def _adapter(channel: str) -> tuple[ConfigSchema, Callable[[Mapping[str, Any], OutboundPolicy], Channel]]:
    if channel == IN_APP:
        raise ChannelConfigError(f"channel {IN_APP} has no settings: it always exists")
    if channel not in ADAPTERS:
        raise ChannelConfigError(f"no channel {channel!r} (channels: {', '.join(CHANNELS)})"
                                 f"{suggest(channel, CHANNELS)}")
    return ADAPTERS[channel]

