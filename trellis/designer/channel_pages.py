"""Channels: each configurable channel's settings as a form made from its settings schema
(secrets shown masked and kept when the mask comes back), saved through `ChannelSettings`
(which seals secrets and lets the adapter check what only it can), and a "send a test
message" button that sends through the very adapter the dispatcher uses.

Maps of names to values (SMS headers, WeCom robots) are edited one `name: value` per line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from trellis.designer.web import Page
from trellis.platform.clock import utc_now
from trellis.platform.ids import new_id
from trellis.runtime.channels.base import ChannelConfigError, DeliveryError, OutgoingMessage
from trellis.runtime.channels.settings import ADAPTERS


def _properties(channel: str) -> dict[str, Mapping[str, Any]]:
    return dict(ADAPTERS[channel][0].schema["properties"])


def _control(schema: Mapping[str, Any], secret: bool) -> str:
    if "enum" in schema:
        return "select"
    kind = schema.get("type")
    if kind == "object":
        return "lines"
    if kind in ("integer", "number"):
        return "number"
    return "password" if secret else "text"


def _fields(channel: str, shown: Mapping[str, Any]) -> list[dict[str, Any]]:
    secrets = {path[0] for path in ADAPTERS[channel][0].secrets if len(path) == 1}
    fields = []
    for name, schema in _properties(channel).items():
        value = shown.get(name, "")
        if isinstance(value, Mapping):
            value = "\n".join(f"{k}: {v}" for k, v in value.items())
        fields.append({"name": name, "control": _control(schema, name in secrets), "value": value,
                       "options": list(schema.get("enum", [])),
                       "required": name in ADAPTERS[channel][0].schema.get("required", [])})
    return fields


def _config(page: Page, channel: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings the form describes, and its own problems (a number that is not one)."""
    config: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, schema in _properties(channel).items():
        raw = page.form.get(f"setting_{name}")
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            continue
        control = _control(schema, False)
        if control == "number":
            try:
                config[name] = int(text) if schema.get("type") == "integer" else float(text)
            except ValueError:
                problems[name] = page.t.t("form.bad_number")
        elif control == "lines":
            pairs = [line.split(":", 1) for line in text.splitlines() if line.strip()]
            if any(len(pair) != 2 for pair in pairs):
                problems[name] = page.t.t("channels.bad_lines")
            config[name] = {k.strip(): v.strip() for k, v in (p for p in pairs if len(p) == 2)}
        else:
            config[name] = text
    return config, problems


def channels_page(page: Page) -> Response:
    settings = page.services.channels(page.tenant_name)
    configured = settings.masked()
    return page.render("channels.html", {"channels": [
        {"name": name, "configured": name in configured} for name in ADAPTERS]})


def channel_page(page: Page) -> Response:
    channel = page.request.path_params["channel"]
    if channel not in ADAPTERS:
        return page.refuse(404)
    settings = page.services.channels(page.tenant_name)
    context: dict[str, Any] = {"channel": channel, "errors": {}, "recipient": page.value("recipient")}
    status = 200
    if page.request.method == "GET":
        context["fields"] = _fields(channel, settings.masked(channel))
        if page.request.query_params.get("done") == "saved":
            context["notice"] = page.t.t("users.saved")
        return page.render("channel.html", context)
    if page.value("action") == "test":
        context["fields"] = _fields(channel, settings.masked(channel))
        context.update(_send_test(page, channel))
        return page.render("channel.html", context, 200 if "notice" in context else 422)
    config, problems = _config(page, channel)
    if not problems:
        try:
            settings.configure(channel, config, page.author, utc_now())
            return page.redirect(f"{page.base}/channels/{channel}?done=saved")
        except ChannelConfigError as error:
            prefix = f"{channel}."
            for problem in error.problems or ():
                name = problem.path.removeprefix(prefix).split(".")[0]
                problems[name if name in _properties(channel) else "_"] = problem.message
            if not problems:
                problems["_"] = str(error)
    status = 422
    shown = {**config, **{k: v for k, v in settings.masked(channel).items() if k not in config}}
    context.update(fields=_fields(channel, shown), errors=problems, error=problems.get("_") or page.t.t("form.fix"))
    return page.render("channel.html", context, status)


def _send_test(page: Page, channel: str) -> dict[str, Any]:
    recipient = page.value("recipient")
    if not recipient:
        return {"errors": {"recipient": page.t.t("form.required_value")}, "error": page.t.t("form.fix")}
    message = OutgoingMessage(id=new_id(), channel=channel, recipient=recipient,
                              subject=page.t.t("channels.test_subject"), body=page.t.t("channels.test_body"))
    try:
        page.services.channels(page.tenant_name).channel(channel).send(message)
    except DeliveryError as error:
        return {"error": page.t.t("channels.test_failed", reason=error.reason)}
    return {"notice": page.t.t("channels.test_sent", recipient=recipient)}
