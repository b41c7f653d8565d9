"""Installation settings, read once from the environment and passed down explicitly.

Nothing reads `os.environ` after start-up: the CLI and the ASGI app build one `Settings` and hand
it to what they create, so tests can run many installations side by side in one process.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.platform.outbound import ALLOW_SETTING, AllowListError, OutboundPolicy

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")
#: Records one GraphQL request may ask for (page sizes multiplied through nested connections).
DEFAULT_GRAPHQL_MAX_COST = 50_000
#: How long one database statement of a request may run; 0 switches the timeout off.
DEFAULT_STATEMENT_TIMEOUT_MS = 15_000
#: Threads of one server process that run requests' database work at the same time. Reads are
#: mostly Python work under one interpreter lock, so more threads contend rather than overlap
#: (measured: 1 thread 370, 2 threads 300, anyio's default of 40 220 requests/s on one worker);
#: raise it when a remote PostgreSQL keeps requests waiting on the network.
DEFAULT_DB_THREADS = 2
#: uvicorn's own default: a proxy on the same host is believed.
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1"


class SettingsError(ValueError):
    """A setting has a value Trellis cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """Where Trellis keeps its data, which database it talks to, and the limits a served request
    meets (GraphQL cost, database statement time)."""

    data_dir: Path = field(default_factory=lambda: Path("trellis-data"))
    #: None means the embedded default: SQLite files under `data_dir`.
    database_url: str | None = None
    default_timezone: str = DEFAULT_TIMEZONE
    default_locale: str = DEFAULT_LOCALE
    #: The key that seals secrets at rest (see `trellis.platform.secrets`); None: `secret.key` in `data_dir`.
    secret_key: str | None = field(default=None, repr=False)
    graphql_max_cost: int = DEFAULT_GRAPHQL_MAX_COST
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    #: Threads per server process running database work (TRELLIS_DB_THREADS).
    db_threads: int = DEFAULT_DB_THREADS
    #: Where outgoing HTTP may go (TRELLIS_OUTBOUND_ALLOW); by default no internal address.
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    #: Proxies whose X-Forwarded-Proto/-For are believed (TRELLIS_FORWARDED_ALLOW_IPS): addresses
    #: or networks, comma-separated, "*" for any, "" for none.
    forwarded_allow_ips: str = DEFAULT_FORWARDED_ALLOW_IPS
    #: Mark the designer's cookies Secure whatever the request's scheme (TRELLIS_SECURE_COOKIES).
    secure_cookies: bool = False

    def __post_init__(self) -> None:
        check_forwarded(self.forwarded_allow_ips)
        check_timezone(self.default_timezone)
        check_locale(self.default_locale)
        check_whole("TRELLIS_GRAPHQL_MAX_COST", self.graphql_max_cost)
        check_whole("TRELLIS_STATEMENT_TIMEOUT_MS", self.statement_timeout_ms)
        check_whole("TRELLIS_DB_THREADS", self.db_threads)
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
            secret_key=env.get("TRELLIS_SECRET_KEY") or None,
            graphql_max_cost=parse_whole("TRELLIS_GRAPHQL_MAX_COST", env.get("TRELLIS_GRAPHQL_MAX_COST"),
                                         DEFAULT_GRAPHQL_MAX_COST),
            statement_timeout_ms=parse_whole("TRELLIS_STATEMENT_TIMEOUT_MS", env.get("TRELLIS_STATEMENT_TIMEOUT_MS"),
                                             DEFAULT_STATEMENT_TIMEOUT_MS),
            db_threads=parse_whole("TRELLIS_DB_THREADS", env.get("TRELLIS_DB_THREADS"), DEFAULT_DB_THREADS),
            outbound=outbound_policy(env.get(ALLOW_SETTING, "")),
            forwarded_allow_ips=env.get("TRELLIS_FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS).strip(),
            secure_cookies=parse_switch("TRELLIS_SECURE_COOKIES", env.get("TRELLIS_SECURE_COOKIES")),
        )

    def environ(self) -> dict[str, str]:
        """These settings as the environment variables `from_env` reads back (worker processes
        build their own from it)."""
        env = {"TRELLIS_DATA_DIR": str(self.data_dir.resolve()), "TRELLIS_TIMEZONE": self.default_timezone,
               "TRELLIS_LOCALE": self.default_locale, "TRELLIS_GRAPHQL_MAX_COST": str(self.graphql_max_cost),
               "TRELLIS_STATEMENT_TIMEOUT_MS": str(self.statement_timeout_ms),
               "TRELLIS_DB_THREADS": str(self.db_threads),
               "TRELLIS_FORWARDED_ALLOW_IPS": self.forwarded_allow_ips,
               "TRELLIS_SECURE_COOKIES": "1" if self.secure_cookies else "0"}
        if self.database_url:
            env["TRELLIS_DATABASE_URL"] = self.database_url
        if self.secret_key:
            env["TRELLIS_SECRET_KEY"] = self.secret_key
        if self.outbound.source:
            env[ALLOW_SETTING] = self.outbound.source
        return env


def check_forwarded(allow: str) -> str:
    """TRELLIS_FORWARDED_ALLOW_IPS: "*", or addresses and networks such as 10.0.0.5,10.1.0.0/16."""
    for entry in (e.strip() for e in allow.split(",")):
        if entry in ("", "*"):
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(f"TRELLIS_FORWARDED_ALLOW_IPS: expected IP addresses or networks separated by "
                                f"commas (such as 10.0.0.5,10.1.0.0/16) or *; got {entry!r}") from None
    return allow


def parse_switch(name: str, text: str | None) -> bool:
    """An on/off setting: 1/true/yes or 0/false/no (unset or blank: off)."""
    value = (text or "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name}: expected 1 or 0 (true/false, yes/no); got {text!r}")


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


#: What each whole-number setting means, for its error message.
WHOLE_SETTINGS = {
    "TRELLIS_GRAPHQL_MAX_COST": (1, "records per GraphQL request, such as 50000"),
    "TRELLIS_STATEMENT_TIMEOUT_MS": (0, "milliseconds, such as 15000 (0 switches the timeout off)"),
    "TRELLIS_DB_THREADS": (1, "threads per server process, such as 2"),
}


def parse_whole(name: str, text: str | None, default: int) -> int:
    """A whole-number setting from the environment (`default` when unset or blank)."""
    if text is None or not text.strip():
        return default
    cleaned = text.strip().replace("_", "")
    if not cleaned.isdigit():
        raise SettingsError(f"{name}: expected a whole number of {WHOLE_SETTINGS[name][1]}; got {text!r}")
    return int(cleaned)


def check_whole(name: str, value: int) -> int:
    minimum, meaning = WHOLE_SETTINGS[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SettingsError(f"{name}: expected a whole number of {meaning}, at least {minimum}; got {value!r}")
    return value
