"""Tiers and the reminder strategy of each: which dated workflow rules remind about which tier.

The renewals app gives each tier its own reminder rule (strategic_renewal_reminder, …) whose
condition names the tier (`account.tier == '战略'`), beside rules for every tier (the reminder on
the day itself). This page reads that back from the drafted rules: the tier field is a picklist
named `tier` (`?field=` names another), its choices are the tiers, and a date-triggered rule on
that object, or on one with a lookup to it, applies to the tiers its condition allows (`==`,
`!=`, `in`, `not in`, through `and`/`or`/`not`); a condition that does not speak of the tier
applies to every tier. A rule's days can be changed here; it is saved as the rule's draft (version
checked, validated), everything else is edited on the rule's own page.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from trellis.designer.fieldforms import Problem, label_text
from trellis.designer.item_checks import item_errors
from trellis.designer.web import Page
from trellis.metadata.expressions import ExpressionError, analyse
from trellis.metadata.model import MetadataSet
from trellis.runtime.releases import DraftConflict, item_version

TIER_FIELD = "tier"
RULE = "workflow_rule"


@dataclass(frozen=True)
class TierField:
    object: str
    field: str
    tiers: tuple[str, ...]


def tier_field(drafts: MetadataSet, field: str) -> TierField | None:
    """The first object (by name) with a picklist `field`."""
    for name, document in sorted(drafts.documents("object").items()):
        choices = (document.get("properties", {}).get(field) or {}).get("enum")
        if choices:
            return TierField(name, field, tuple(str(c) for c in choices if c is not None))
    return None


def tiers_of(condition: str | None, paths: Collection[str], tiers: tuple[str, ...]) -> frozenset[str]:
    """The tiers a condition lets through: `paths` are how it names the tier field (`tier`,
    `account.tier`). A condition that cannot be read, or says nothing of the tier, lets all through."""
    everything = frozenset(tiers)
    if not condition:
        return everything
    try:
        tree = analyse(condition).tree.value
    except ExpressionError:
        return everything
    return _allowed(tree, paths, everything)


def _allowed(node: ast.expr, paths: Collection[str], everything: frozenset[str]) -> frozenset[str]:
    if isinstance(node, ast.BoolOp):
        parts = [_allowed(value, paths, everything) for value in node.values]
        if isinstance(node.op, ast.And):
            return frozenset.intersection(*parts)
        return frozenset.union(*parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _allowed(node.operand, paths, everything)
        return everything - inner if inner != everything else everything
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if _path(right) in paths and isinstance(op, (ast.Eq, ast.NotEq)):
            left, right = right, left
        if _path(left) not in paths:
            return everything
        named = _constants(right)
        if named is None:
            return everything
        if isinstance(op, (ast.Eq, ast.In)):
            return everything & named
        if isinstance(op, (ast.NotEq, ast.NotIn)):
            return everything - named
    return everything


def _path(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _constants(node: ast.expr) -> frozenset[str] | None:
    if isinstance(node, ast.Constant):
        return frozenset({str(node.value)})
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and all(isinstance(e, ast.Constant) for e in node.elts):
        return frozenset(str(e.value) for e in node.elts if isinstance(e, ast.Constant))
    return None


def _paths(drafts: MetadataSet, found: TierField, object_name: str) -> list[str]:
    """How a condition on `object_name` names the tier field: itself, or through a lookup."""
    if object_name == found.object:
        return [found.field]
    properties = drafts.documents("object").get(object_name, {}).get("properties", {})
    return [f"{lookup}.{found.field}" for lookup, schema in properties.items() if schema.get("x-ref") == found.object]


def _row(page: Page, name: str, document: Mapping[str, Any]) -> dict[str, Any]:
    trigger = document.get("trigger") or {}
    offsets = trigger.get("offset", [])
    offsets = offsets if isinstance(offsets, list) else [offsets]
    channels = []
    for action in document.get("actions", []):
        if action.get("type") == "notify":
            channels.append(str(action.get("channel", "")))
        elif action.get("type") == "create_task":
            channels.append(page.t.t("tiers.task"))
    return {"name": name, "label": label_text(document.get("x-label"), page.t.language, name),
            "offsets": ",".join(str(-o) for o in offsets), "at": trigger.get("at", ""),
            "field": trigger.get("field", ""), "channels": list(dict.fromkeys(channels)),
            "active": document.get("active", True), "version": item_version(document)}


def strategy(page: Page, drafts: MetadataSet, found: TierField) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(per tier: the rules for it alone or some tiers, the rules for every tier)."""
    per_tier: dict[str, list[dict[str, Any]]] = {tier: [] for tier in found.tiers}
    every = []
    for name, document in sorted(drafts.documents(RULE).items()):
        if (document.get("trigger") or {}).get("type") != "date":
            continue
        paths = _paths(drafts, found, document.get("object", ""))
        if not paths:
            continue
        allowed = tiers_of(document.get("condition"), paths, found.tiers)
        if allowed == frozenset(found.tiers):
            every.append(_row(page, name, document))
            continue
        for tier in found.tiers:
            if tier in allowed:
                per_tier[tier].append(_row(page, name, document))
    return [{"tier": tier, "rules": rules} for tier, rules in per_tier.items()], every


def tiers_page(page: Page) -> Response:
    store = page.services.store(page.tenant_name)
    field = page.request.query_params.get("field") or TIER_FIELD
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    status = 200
    if page.request.method == "POST":
        rule = page.value("rule")
        typed[rule] = page.value("offsets")
        problems = _save_offsets(page, rule)
        if not problems:
            return page.redirect(f"{page.base}/tiers?done=saved" + (f"&field={field}" if field != TIER_FIELD else ""))
        errors = page.errors(problems)
        status = 409 if any(key == "form.conflict" for _, key, _ in problems) else 422
    drafts = store.draft_set()
    found = tier_field(drafts, field)
    context: dict[str, Any] = {"field": field, "found": found, "errors": errors, "typed": typed}
    if found is not None:
        context["tiers"], context["every"] = strategy(page, drafts, found)
    if page.request.query_params.get("done") == "saved":
        context["notice"] = page.t.t("form.saved")
    if errors:
        context["error"] = page.t.t("form.fix")
    return page.render("tiers.html", context, status)


def _save_offsets(page: Page, rule: str) -> list[Problem]:
    """Save the rule's new days as its draft; the problems otherwise, keyed `offsets_<rule>`."""
    key = f"offsets_{rule}"
    store = page.services.store(page.tenant_name)
    drafts = store.draft_set()
    document = drafts.documents(RULE).get(rule)
    if document is None or (document.get("trigger") or {}).get("type") != "date":
        return [(key, "refused.not_found_body", {})]
    parts = [p for p in re.split(r"[,，\s]+", page.value("offsets")) if p]
    if not parts or not all(re.fullmatch(r"-?\d{1,4}", p) for p in parts):
        return [(key, "rules.offsets_bad", {})]
    updated = copy.deepcopy(dict(document))
    updated["trigger"] = {**updated["trigger"], "offset": [-int(p) for p in parts]}
    problems: list[Problem] = [(key, "form.metadata_error", {"message": e.message})
                               for e in item_errors(drafts, RULE, rule, updated)]
    if problems:
        return problems
    try:
        store.save_draft(RULE, rule, updated, page.author, expected=page.value("version"))
    except DraftConflict:
        return [(key, "form.conflict", {"what": page.t.t("nav.rules")})]
    return []
