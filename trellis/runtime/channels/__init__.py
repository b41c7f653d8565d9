"""Message channels: one adapter per channel (email, SMS, WeCom robot, signed webhook, in-app)
behind one interface, `Channel.send(OutgoingMessage)`, configured per tenant by
`ChannelSettings`."""

from trellis.runtime.channels.base import (
    MASK,
    Channel,
    ChannelConfigError,
    ConfigSchema,
    DeliveryError,
    OutgoingMessage,
)
from trellis.runtime.channels.email import EmailChannel
from trellis.runtime.channels.in_app import InAppChannel
from trellis.runtime.channels.settings import CHANNELS, ChannelSettings
from trellis.runtime.channels.sms import SmsChannel
from trellis.runtime.channels.webhook import WebhookChannel, sign, verify_signature
from trellis.runtime.channels.wecom import WeComChannel

__all__ = [
    "CHANNELS",
    "MASK",
    "Channel",
    "ChannelConfigError",
    "ChannelSettings",
    "ConfigSchema",
    "DeliveryError",
    "EmailChannel",
    "InAppChannel",
    "OutgoingMessage",
    "SmsChannel",
    "WeComChannel",
    "WebhookChannel",
    "sign",
    "verify_signature",
]
