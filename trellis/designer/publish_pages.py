"""Publishing the drafts, the release history, the diff between two releases and rollback.

The publish page shows what `MetadataStore.publish_drafts` would do (a dry run: the diff and the
storage plan as `trellis metadata apply` prints them, destructive steps marked), with a
fingerprint of the drafts it showed: publishing refuses when the drafts changed since (someone
else edited them), and refuses destructive steps unless the admin ticked the box. Publishing
is one transaction in the store, so a failure leaves the drafts and every table as they were.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from trellis.designer.messages import say
from trellis.designer.web import Page
from trellis.metadata.diff import MetadataDiff, diff_sets
from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.model import ItemKey, MetadataSet
from trellis.metadata.renames import as_renamed, field_renames, object_renames
from trellis.runtime.releases import DestructiveChangeRefused, MetadataStore, ReleaseNotFound, item_version

log = logging.getLogger("trellis.designer")


def _fingerprint(drafts: Mapping[ItemKey, Mapping[str, Any] | None]) -> str:
    return item_version({f"{kind}/{name}": doc for (kind, name), doc in sorted(drafts.items())})


def _text(document: Mapping[str, Any] | None) -> list[str]:
    return [] if document is None else json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).splitlines()


def item_diffs(old: MetadataSet, new: MetadataSet, diff: MetadataDiff | None = None) -> list[dict[str, Any]]:
    """Per changed item: its change lines (as the CLI prints them) and a unified diff of its document.
    `diff`: the publish's own, else the diff of the two sets with the renames `new` declares."""
    out = []
    for change in (diff or _diff_with_renames(old, new)).changes:
        key = (change.kind, change.name)
        before = old[key] if key in old else None
        after = new[key] if key in new else None
        text = "\n".join(difflib.unified_diff(_text(before), _text(after), "before", "after", lineterm="", n=2))
        out.append({"kind": change.kind, "name": change.name, "change": change.change, "lines": change.lines(),
                    "diff": text})
    return out


def _diff_with_renames(old: MetadataSet, new: MetadataSet) -> MetadataDiff:
    """What changed from `old` to `new`, a field or object renamed (x-renamed-from) read as one
    rename as publishing reads it, not as a removal and an addition."""
    moved = object_renames(old.objects, new.objects)
    return diff_sets(old, new, field_renames(as_renamed(old.objects, moved), new.objects), moved)


def _plan_context(store: MetadataStore) -> dict[str, Any]:
    drafts = store.drafts()
    context: dict[str, Any] = {"fingerprint": _fingerprint(drafts), "has_drafts": bool(drafts), "items": [],
                               "steps": [], "invalid": [], "destructive": False}
    if not drafts:
        return context
    try:
        result = store.publish_drafts(author="preview", dry_run=True, allow_destructive=True)
    except MetadataInvalid as invalid:
        return {**context, "invalid": invalid.errors}
    current = store.current()
    context["base"] = result.base
    context["items"] = item_diffs(current.metadata if current else MetadataSet(), store.draft_set(), result.diff)
    context["steps"] = [{"text": s.describe(), "destructive": s.destructive} for s in result.plan.steps]
    context["notices"] = list(result.plan.notices)
    context["destructive"] = bool(result.plan.destructive_steps)
    return context


def publish_page(page: Page) -> Response:
    store = page.services.store(page.tenant_name)
    context = _plan_context(store)
    if page.request.method == "GET":
        number = page.request.query_params.get("published")
        notice = page.t.t("publish.done", number=number) if number else None
        return page.render("publish.html", {**context, "message": "", "notice": notice, "say": _say(page)})
    message = page.value("message")
    again = {**context, "message": message, "say": _say(page)}
    if page.value("fingerprint") != context["fingerprint"]:
        return page.render("publish.html", {**again, "error": page.t.t(
            "form.conflict", what=page.t.t("publish.changes"))}, 409)
    try:
        result = store.publish_drafts(author=page.author, message=message or "designer",
                                      allow_destructive=page.ticked("allow_destructive"))
    except DestructiveChangeRefused:
        return page.render("publish.html", {**again, "error": page.t.t("publish.must_allow"),
                                            "errors": {"allow_destructive": page.t.t("publish.must_allow")}}, 422)
    except MetadataInvalid as invalid:
        return page.render("publish.html", {**again, "invalid": invalid.errors}, 422)
    except Exception as error:  # noqa: BLE001 - the store rolled back; say why, keep the drafts
        log.exception("publishing the drafts of %s failed", page.tenant_name)  # a bug or the database: for ops too
        return page.render("publish.html", {**again, "error": page.t.t("publish.failed", error=_first_line(error))},
                           500)
    if result.release is None:
        return page.redirect(f"{page.base}/publish")
    return page.redirect(f"{page.base}/publish?published={result.release.number}")


def _say(page: Page) -> Callable[[str], str]:
    """How the page words a metadata error: in its language (trellis/designer/messages.py)."""
    return lambda message: say(page.t, message)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


def discard(page: Page) -> Response:
    page.services.store(page.tenant_name).discard_drafts()
    return page.redirect(f"{page.base}/?done=discarded")


def history_page(page: Page) -> Response:
    store = page.services.store(page.tenant_name)
    releases = store.history()
    context: dict[str, Any] = {"releases": releases, "items": None}
    a, b = page.request.query_params.get("a", ""), page.request.query_params.get("b", "")
    if a.isdigit() and b.isdigit():
        try:
            context["items"] = item_diffs(store.release(int(a)).metadata, store.release(int(b)).metadata)
            context["a"], context["b"] = int(a), int(b)
        except ReleaseNotFound:
            return page.refuse(404)
    number = page.request.query_params.get("rolled")
    if number:
        context["notice"] = page.t.t("history.rolled_back", number=number,
                                     target=page.request.query_params.get("target", ""))
    return page.render("history.html", context)


def rollback(page: Page) -> Response:
    number = int(page.request.path_params["number"])
    store = page.services.store(page.tenant_name)
    try:
        result = store.rollback(number, author=page.author, allow_destructive=page.ticked("allow_destructive"))
    except ReleaseNotFound:
        return page.refuse(404)
    except DestructiveChangeRefused:
        return page.render("history.html", {"releases": store.history(), "items": None,
                                            "error": page.t.t("publish.must_allow")}, 422)
    released = result.release.number if result.release else store.current_number()
    return page.redirect(f"{page.base}/history?rolled={released}&target={number}")
