"""Email over SMTP (smtplib): plain text, UTF-8, one recipient per message.

The Message-ID is built from the delivery id, so a message the dispatcher sends twice (it
cannot know whether a connection that broke after DATA delivered it) carries the same id
twice and mail systems and readers can tell it is a duplicate.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from trellis.platform.clock import utc_now
from trellis.runtime.channels.base import (
    DEFAULT_TIMEOUT,
    TIMEOUT_SCHEMA,
    ChannelConfigError,
    ConfigSchema,
    DeliveryError,
    OutgoingMessage,
)
from trellis.runtime.errors import FieldProblem

CONFIG = ConfigSchema("email", {
    "type": "object",
    "required": ["host", "port", "security", "from_address"],
    "properties": {
        "host": {"type": "string", "minLength": 1, "maxLength": 255},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "security": {"enum": ["none", "starttls", "ssl"]},
        "username": {"type": "string", "maxLength": 320},
        "password": {"type": "string", "maxLength": 1000},
        "from_address": {"type": "string", "format": "email", "maxLength": 320},
        "from_name": {"type": "string", "maxLength": 200},
        "timeout": TIMEOUT_SCHEMA,
    },
}, secrets=["password"])


class EmailChannel:
    name = "email"

    def __init__(self, config: Mapping[str, Any]):
        self.config = CONFIG.check(config)
        self.server = f"{self.config['host']}:{self.config['port']}"
        self.timeout = float(self.config.get("timeout", DEFAULT_TIMEOUT))
        try:
            self.sender = _address(self.config["from_address"], _one_line(self.config.get("from_name", "")))
        except ValueError as error:
            raise ChannelConfigError("the email settings are not valid",
                                     [FieldProblem("email.from_address", f"not a usable address ({error})")]) from error

    def send(self, message: OutgoingMessage) -> None:
        mail = self._compose(message)
        try:
            with self._connect() as smtp:
                if self.config.get("username"):
                    smtp.login(self.config["username"], self.config.get("password", ""))
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(f"SMTP server {self.server} refused the login of {self.config['username']}: "
                                f"{_said(error)}", retryable=False) from error
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            raise DeliveryError(f"SMTP server {self.server} refused the recipient {message.recipient}: "
                                f"{code} {_text(text)}", retryable=code < 500) from error
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(f"SMTP server {self.server} answered {_said(error)}",
                                retryable=error.smtp_code < 500) from error
        except smtplib.SMTPNotSupportedError as error:
            raise DeliveryError(f"SMTP server {self.server}: {error} (check the security and login settings)",
                                retryable=False) from error
        except ssl.SSLError as error:
            raise DeliveryError(f"TLS with SMTP server {self.server} failed: {error} (check the security "
                                "setting)", retryable=False) from error
        except ConnectionRefusedError as error:
            raise DeliveryError(f"SMTP server {self.server} refused the connection") from error
        except TimeoutError as error:
            raise DeliveryError(f"SMTP server {self.server} did not answer within {self.timeout:g} s") from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"could not send through SMTP server {self.server}: {error}") from error

    def _compose(self, message: OutgoingMessage) -> EmailMessage:
        try:
            recipient = _address(message.recipient.strip())
        except ValueError as error:
            raise DeliveryError(f"{message.recipient!r} is not an email address", retryable=False) from error
        mail = EmailMessage()
        mail["Subject"] = _one_line(message.subject)
        mail["From"] = self.sender
        mail["To"] = recipient
        mail["Date"] = format_datetime(utc_now())
        mail["Message-ID"] = f"<{message.id}@trellis>"
        mail.set_content(message.body, charset="utf-8")
        return mail

    def _connect(self) -> smtplib.SMTP:
        host, port, security = self.config["host"], self.config["port"], self.config["security"]
        if security == "ssl":
            return smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(host, port, timeout=self.timeout)
        if security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp


def _address(addr_spec: str, display_name: str = "") -> Address:
    """The address, or ValueError: the email package says "not an address" in several ways."""
    try:
        return Address(display_name=display_name, addr_spec=addr_spec)
    except (ValueError, IndexError, HeaderParseError) as error:
        raise ValueError(str(error) or "empty") from error


def _one_line(text: str) -> str:
    """Header text on one line: a line break in a header would be refused (or injected)."""
    return " ".join(text.split())


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _said(error: smtplib.SMTPResponseException) -> str:
    return f"{error.smtp_code} {_text(error.smtp_error)}"

