"""Per-tenant channel settings, on SQLite and PostgreSQL: validated, masked, secrets kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from tests.helpers import execute, rows
from trellis.platform.db import Database
from trellis.platform.secrets import SEALED, SecretBox, SecretsError
from trellis.runtime.channels import (
    MASK,
    ChannelConfigError,
    ChannelSettings,
    DeliveryError,
    EmailChannel,
    InAppChannel,
    SmsChannel,
    WebhookChannel,
    WeComChannel,
)

NOW = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
BOX = SecretBox(Fernet.generate_key().decode())
PASSWORD = "smtp-Pa55word-xyz"
EMAIL = {"host": "smtp.acme.example", "port": 587, "security": "starttls", "username": "mailer",
         "password": PASSWORD, "from_address": "noreply@acme.example", "from_name": "续约提醒"}
SECRETS = {"sms": {"url": "https://sms.example/send", "headers": {"X-Api-Key": "sms-key-456", "X-App": "app-789"},
                   "body_template": '{"to": {{ phone|tojson }}}'},
           "wecom": {"robots": {"renewals": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key-1"}},
           "webhook": {"secret": "whsec-0123456789abcdef"}}


def test_admins_see_settings_with_every_secret_masked(tenant_db: Database):
    settings = ChannelSettings(tenant_db, BOX)
    answer = settings.configure("email", EMAIL, updated_by="admin", now=NOW)
    assert answer == {**EMAIL, "password": MASK}
    for name, config in SECRETS.items():
        settings.configure(name, config, updated_by="admin", now=NOW)
    shown = settings.masked()
    assert shown == {
        "email": {**EMAIL, "password": MASK},
        "sms": {**SECRETS["sms"], "headers": {"X-Api-Key": MASK, "X-App": MASK}},
        "wecom": {"robots": {"renewals": MASK}},
        "webhook": {"secret": MASK},
    }
    text = json.dumps(shown, ensure_ascii=False)
    for secret in (PASSWORD, "sms-key-456", "app-789", "wecom-key-1", "whsec-0123456789abcdef"):
        assert secret not in text and secret[:6] not in text
    assert settings.masked("email") == shown["email"]
    assert settings.masked("sms") == shown["sms"]


def test_a_secret_left_out_or_masked_keeps_the_stored_one(tenant_db: Database):
    settings = ChannelSettings(tenant_db, BOX)
    settings.configure("email", EMAIL, updated_by="admin", now=NOW)
    settings.configure("email", {**EMAIL, "port": 2525, "password": MASK}, updated_by="ann", now=NOW)
    without = {key: value for key, value in EMAIL.items() if key != "password"}
    settings.configure("email", {**without, "port": 2526}, updated_by="ann", now=NOW)
    channel = settings.channel("email")
    assert isinstance(channel, EmailChannel)
    assert channel.config == {**EMAIL, "port": 2526}

    settings.configure("sms", SECRETS["sms"], updated_by="admin", now=NOW)
    settings.configure("sms", {**SECRETS["sms"], "headers": {"X-Api-Key": MASK}}, updated_by="ann", now=NOW)
    sms = settings.channel("sms")
    assert isinstance(sms, SmsChannel)
    assert sms.config["headers"] == {"X-Api-Key": "sms-key-456"}  # X-App was removed

    settings.configure("webhook", SECRETS["webhook"], updated_by="admin", now=NOW)
    settings.configure("webhook", {"secret": MASK, "timeout": 3}, updated_by="ann", now=NOW)
    webhook = settings.channel("webhook")
    assert isinstance(webhook, WebhookChannel)
    assert webhook.config == {"secret": "whsec-0123456789abcdef", "timeout": 3}


def test_a_mask_with_nothing_stored_is_refused(tenant_db: Database):
    with pytest.raises(ChannelConfigError) as caught:
        ChannelSettings(tenant_db, BOX).configure("webhook", {"secret": MASK}, updated_by="admin", now=NOW)
    assert [str(p) for p in caught.value.problems] == [
        "webhook.secret: no stored value to keep; give the secret itself"]


def test_errors_name_each_path_and_leave_the_previous_settings(tenant_db: Database):
    settings = ChannelSettings(tenant_db, BOX)
    settings.configure("email", EMAIL, updated_by="admin", now=NOW)
    bad = {**EMAIL, "port": 70000, "security": "tls", "from_address": "nobody", "hots": "x"}
    del bad["host"]
    with pytest.raises(ChannelConfigError) as caught:
        settings.configure("email", bad, updated_by="mallory", now=NOW)
    problems = {p.path: p.message for p in caught.value.problems}
    assert set(problems) == {"email.hots", "email.host", "email.port", "email.security", "email.from_address"}
    assert problems["email.hots"].startswith("unknown setting (expected one of: host, port,")
    assert problems["email.hots"].endswith("did you mean 'host'?")
    assert problems["email.host"] == "is required"
    assert problems["email.port"] == "must be at most 65535; got 70000"
    assert problems["email.security"] == "expected one of none, starttls, ssl; got 'tls'"
    assert "email.port" in str(caught.value)
    assert settings.masked("email") == {**EMAIL, "password": MASK}

    with pytest.raises(ChannelConfigError) as template:
        settings.configure("sms", {**SECRETS["sms"], "body_template": "{% if %}"}, updated_by="ann", now=NOW)
    assert [p.path for p in template.value.problems] == ["sms.body_template"]
    assert settings.masked("sms") == {}


def test_secrets_stay_out_of_error_messages(tenant_db: Database):
    robots = {"robots": {"renewals": "qyapi.weixin.qq.com/send?key=wecom-key-1"}}
    with pytest.raises(ChannelConfigError) as caught:
        ChannelSettings(tenant_db, BOX).configure("wecom", robots, updated_by="admin", now=NOW)
    [problem] = caught.value.problems
    assert problem.path == "wecom.robots.renewals"
    assert "wecom-key-1" not in str(caught.value) and MASK in problem.message


def test_unknown_channels_are_named(tenant_db: Database):
    settings = ChannelSettings(tenant_db, BOX)
    with pytest.raises(ChannelConfigError, match=r"no channel 'emial' \(channels: email, sms, wecom, webhook, "
                                                 r"in_app\); did you mean 'email'\?"):
        settings.configure("emial", EMAIL, updated_by="admin", now=NOW)
    with pytest.raises(ChannelConfigError, match="in_app has no settings"):
        settings.configure("in_app", {}, updated_by="admin", now=NOW)
    with pytest.raises(DeliveryError) as caught:
        settings.channel("fax")
    assert not caught.value.retryable


def test_adapters_come_from_the_stored_settings(tenant_db: Database):
    settings = ChannelSettings(tenant_db, BOX)
    assert isinstance(settings.channel("in_app"), InAppChannel)
    with pytest.raises(DeliveryError) as caught:
        settings.channel("wecom")
    assert not caught.value.retryable
    assert caught.value.reason.startswith("channel wecom is not configured for this tenant")
    settings.configure("wecom", SECRETS["wecom"], updated_by="admin", now=NOW)
    wecom = settings.channel("wecom")
    assert isinstance(wecom, WeComChannel)
    assert wecom.robots == SECRETS["wecom"]["robots"]


def test_settings_are_sealed_at_rest_and_open_only_with_the_installation_key(tenant_db: Database):
    settings = ChannelSettings(tenant_db, BOX)
    settings.configure("email", EMAIL, updated_by="admin", now=NOW)
    settings.configure("webhook", SECRETS["webhook"], updated_by="admin", now=NOW)
    raw = rows(tenant_db, "SELECT channel, config FROM channel_settings ORDER BY channel")
    assert [name for name, _ in raw] == ["email", "webhook"]
    for _, stored in raw:  # what a copied database file or a backup shows
        assert stored.startswith(SEALED) and PASSWORD not in stored and "whsec" not in stored
        assert "smtp.acme.example" not in stored
    other_key = ChannelSettings(tenant_db, SecretBox(Fernet.generate_key().decode()))
    with pytest.raises(SecretsError, match="restore the old key"):
        other_key.masked()


def test_settings_written_before_sealing_are_read_and_sealed_by_migrate(tenant_db: Database):
    execute(tenant_db, "INSERT INTO channel_settings (channel, config, updated_by, updated_at) "
                       "VALUES ('webhook', :config, 'old', :now)", config=json.dumps(SECRETS["webhook"]), now=NOW)
    settings = ChannelSettings(tenant_db, BOX)
    assert settings.masked("webhook") == {"secret": MASK}
    assert settings.seal_stored() == 1 and settings.seal_stored() == 0
    [(stored,)] = rows(tenant_db, "SELECT config FROM channel_settings")
    assert stored.startswith(SEALED) and "whsec" not in stored
    webhook = settings.channel("webhook")
    assert isinstance(webhook, WebhookChannel) and webhook.config["secret"] == "whsec-0123456789abcdef"


def test_a_malformed_key_is_refused_with_how_to_make_one():
    with pytest.raises(SecretsError, match="TRELLIS_SECRET_KEY: expected 32 bytes"):
        SecretBox("not-a-key")
