"""Installation settings, read once from the environment and passed down explicitly.

Nothing reads `os.environ` after start-up: the CLI and the ASGI app build one `Settings` and hand
it to what they create, so tests can run many installations side by side in one process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.platform.outbound import ALLOW_SETTING, AllowListError, OutboundPolicy

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")


class SettingsError(ValueError):
    """A setting has a value Trellis cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """Where Trellis keeps its data and which database it talks to."""

    data_dir: Path = field(default_factory=lambda: Path("trellis-data"))
    #: None means the embedded default: SQLite files under `data_dir`.
    database_url: str | None = None
    default_timezone: str = DEFAULT_TIMEZONE
    default_locale: str = DEFAULT_LOCALE
    #: Where outgoing HTTP may go (TRELLIS_OUTBOUND_ALLOW); by default no internal address.
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)

    def __post_init__(self) -> None:
        check_timezone(self.default_timezone)
        check_locale(self.default_locale)
        if self.database_url is not None and not self.database_url.startswith(("sqlite", "postgresql")):
            raise SettingsError(
                f"TRELLIS_DATABASE_URL: expected a sqlite:/// or postgresql+psycopg:// URL, "
                f"got {self.database_url.split('://')[0]}://…"
            )

    @property
    def is_postgresql(self) -> bool:
        return bool(self.database_url and self.database_url.startswith("postgresql"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("TRELLIS_DATA_DIR", "trellis-data")),
            database_url=env.get("TRELLIS_DATABASE_URL") or None,
            default_timezone=env.get("TRELLIS_TIMEZONE", DEFAULT_TIMEZONE),
            default_locale=env.get("TRELLIS_LOCALE", DEFAULT_LOCALE),
            outbound=outbound_policy(env.get(ALLOW_SETTING, "")),
        )


def outbound_policy(allow: str) -> OutboundPolicy:
    """The outbound policy of an allow-list setting (see trellis.platform.outbound)."""
    try:
        return OutboundPolicy.parse(allow)
    except AllowListError as error:
        raise SettingsError(f"{ALLOW_SETTING}: {error}") from None


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"time zone: expected an IANA name such as Asia/Shanghai, got {name!r}") from None
    return name


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise SettingsError(f"locale: expected one of {', '.join(LOCALES)}, got {locale!r}")
    return locale
