"""An approval process as the designer's form shows it, and back: form values ↔ the document.

Admins edit steps, approvers, modes, escalations and outcomes as form controls and never see
JSON; this module is the one translation between the two, pure (no I/O), like `fieldforms`.
The form posts flat names (`s0_name`, `s0_a1_kind`…); `read_form` turns them into values
(process settings plus a list of steps, each with its approver rows), `apply_op` adds, removes
or moves steps and approver rows without saving, and `document_of` builds the document, keeping
what the form does not control (an outcome's actions other than its first set_fields and first
notification are kept as they were).
Problems the form can see come back as (form field, catalogue key, values); metadata validation
errors are pinned to their form field by `pin`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

from trellis.designer.fieldforms import NAME, Problem
from trellis.metadata.approval_processes import OUTCOMES
from trellis.metadata.objects import label_of

APPROVER_KINDS = ("manager", "role", "user", "user_field", "expression")
MODES = ("any", "all", "at_least")
ESCALATIONS = ("", "notify", "reassign", "approve", "reject")
LOCKS = ("record", "none", "fields")
SUBMITTERS = ("owner", "update_access")
CHANNELS = ("in_app", "email")
SELF_APPROVAL = ("forbid", "allow")
NOTIFY_CHANNELS = ("", "in_app", "email", "sms", "wecom")
RECIPIENTS = ("user_field", "manager_of", "role", "field", "address")
_NOTIFY_KEYS = ("channel", "to_kind", "to_value", "subject", "body")
MAX_STEPS = 20
MAX_APPROVERS = 20
_STEP_KEYS = ("name", "label_en", "label_zh", "condition", "mode", "at_least", "esc_action", "esc_hours",
              "esc_to_kind", "esc_to_value", "reminder_hours")
_PROCESS_KEYS = ("label_en", "label_zh", "description", "object", "entry_condition", "submitter_roles", "lock", "lock_fields",
                 "self_approval", *(f"{o}_set" for o in OUTCOMES),
                 *(f"{o}_notify_{k}" for o in OUTCOMES for k in _NOTIFY_KEYS))
_WHOLE = re.compile(r"^[0-9]{1,6}$")
_SET_LINE = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*=\s*(.+?)\s*$")
#: defaults the engine assumes when a key is left out (a key left out stays out when unchanged)
_DEFAULTS: dict[str, Any] = {"active": True, "submitters": ["update_access"], "lock": "record",
                             "notify": ["in_app"], "allow_recall": True, "self_approval": "forbid"}

Get = Callable[[str], str]


def blank_approver() -> dict[str, str]:
    return {"kind": "", "value": ""}


def blank_step(index: int) -> dict[str, Any]:
    return {**dict.fromkeys(_STEP_KEYS, ""), "name": f"step_{index + 1}", "mode": "any",
            "approvers": [blank_approver()]}


def _text(labels: Any, locale: str) -> str:
    found = label_of(labels)
    return found.get(locale) or (found.get("*", "") if locale == "en" else "")


def approver_row(approver: Mapping[str, Any]) -> dict[str, str]:
    (kind, value), = approver.items()
    return {"kind": kind, "value": str(value)}


def values_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the form shows for a process; every step ends with a blank approver row to fill."""
    lock = document.get("lock", "record")
    submitters = document.get("submitters", _DEFAULTS["submitters"])
    values: dict[str, Any] = {
        "label_en": _text(document.get("x-label"), "en"), "label_zh": _text(document.get("x-label"), "zh-CN"),
        "description": document.get("description", ""), "object": document.get("object", ""), "entry_condition": document.get("entry_condition", ""),
        "active": "on" if document.get("active", True) else "",
        "submitters": [s for s in submitters if isinstance(s, str)],
        "submitter_roles": ", ".join(s["role"] for s in submitters if isinstance(s, Mapping)),
        "lock": "fields" if isinstance(lock, Mapping) else lock,
        "lock_fields": ", ".join(lock["fields"]) if isinstance(lock, Mapping) else "",
        "notify": list(document.get("notify", _DEFAULTS["notify"])),
        "allow_recall": "on" if document.get("allow_recall", True) else "",
        "self_approval": document.get("self_approval", "forbid"), "steps": []}
    for outcome in OUTCOMES:
        actions = document.get(outcome, [])
        sets = [a for a in actions if a.get("type") == "set_fields"]
        values[f"{outcome}_set"] = "\n".join(f"{k} = {v}" for k, v in (sets[0]["values"] if sets else {}).items())
        notifies = [a for a in actions if a.get("type") == "notify"]
        notify = notifies[0] if notifies else {}
        to = (notify.get("to") or [{"user_field": "owner_id"}])[0]
        (to_kind, to_value), = to.items() if isinstance(to, Mapping) and len(to) == 1 else (("", ""),)
        values.update({f"{outcome}_notify_channel": notify.get("channel", ""), f"{outcome}_notify_to_kind": to_kind,
                       f"{outcome}_notify_to_value": str(to_value), f"{outcome}_notify_subject": notify.get("subject", ""),
                       f"{outcome}_notify_body": notify.get("body", "")})
        values[f"{outcome}_other"] = [a for a in actions if a not in sets[:1] and a not in notifies[:1]]
    for spec in document.get("steps", []):
        mode = spec.get("mode", "any")
        escalation = spec.get("escalation") or {}
        to = approver_row(escalation["to"]) if "to" in escalation else {"kind": "", "value": ""}
        values["steps"].append({
            "name": spec.get("name", ""), "label_en": _text(spec.get("label"), "en"),
            "label_zh": _text(spec.get("label"), "zh-CN"), "condition": spec.get("condition", ""),
            "mode": mode if isinstance(mode, str) else "at_least",
            "at_least": str(mode["at_least"]) if isinstance(mode, Mapping) else "",
            "esc_action": escalation.get("action", ""), "esc_hours": str(escalation.get("after_hours", "")),
            "esc_to_kind": to["kind"], "esc_to_value": to["value"],
            "reminder_hours": str(spec.get("reminder_hours", "")),
            "approvers": [approver_row(a) for a in spec.get("approvers", [])] + [blank_approver()]})
    return values


def read_form(get: Get, ticked: Callable[[str], bool], stored: Mapping[str, Any]) -> dict[str, Any]:
    """The values the form posted, over the stored document (whose outcome actions the form
    does not edit are kept)."""
    values: dict[str, Any] = {k: get(k) for k in _PROCESS_KEYS}
    values.update(active="on" if ticked("active") else "", allow_recall="on" if ticked("allow_recall") else "",
                  submitters=[s for s in SUBMITTERS if ticked(f"submitter_{s}")],
                  notify=[c for c in CHANNELS if ticked(f"notify_{c}")])
    kept = values_of(stored)
    values.update({f"{o}_other": kept[f"{o}_other"] for o in OUTCOMES})
    steps = []
    for i in range(min(_count(get("steps")), MAX_STEPS)):
        step: dict[str, Any] = {k: get(f"s{i}_{k}") for k in _STEP_KEYS}
        step["approvers"] = [{"kind": get(f"s{i}_a{j}_kind"), "value": get(f"s{i}_a{j}_value")}
                             for j in range(min(_count(get(f"s{i}_approvers")), MAX_APPROVERS + 1))]
        steps.append(step)
    values["steps"] = steps
    return values


def _count(text: str) -> int:
    return int(text) if _WHOLE.match(text) else 0


def apply_op(values: dict[str, Any], op: str) -> bool:
    """Add, remove or move a step, add or remove an approver row (`op` as the button sends it:
    "add_step", "up:1", "down:0", "remove:2", "add_approver:0", "remove_approver:0:1");
    False for anything else. Nothing is saved: the page shows the form again."""
    steps: list[dict[str, Any]] = values["steps"]
    parts = op.split(":")
    numbers = [int(p) for p in parts[1:] if p.isdigit()]
    if len(numbers) != len(parts) - 1:
        return False
    if parts[0] == "add_step" and not numbers:
        if len(steps) < MAX_STEPS:
            steps.append(blank_step(len(steps)))
        return True
    if not numbers or not 0 <= numbers[0] < len(steps):
        return False
    i = numbers[0]
    if parts[0] == "remove" and len(numbers) == 1:
        del steps[i]
    elif parts[0] == "up" and len(numbers) == 1 and i > 0:
        steps[i - 1], steps[i] = steps[i], steps[i - 1]
    elif parts[0] == "down" and len(numbers) == 1 and i + 1 < len(steps):
        steps[i], steps[i + 1] = steps[i + 1], steps[i]
    elif parts[0] == "add_approver" and len(numbers) == 1:
        if len(steps[i]["approvers"]) <= MAX_APPROVERS:
            steps[i]["approvers"].append(blank_approver())
    elif parts[0] == "remove_approver" and len(numbers) == 2 and 0 <= numbers[1] < len(steps[i]["approvers"]):
        del steps[i]["approvers"][numbers[1]]
    else:
        return parts[0] in ("up", "down")  # moving the first up or the last down does nothing
    return True


def with_blank_rows(values: dict[str, Any]) -> dict[str, Any]:
    """Every step ends with one empty approver row (what 'add an approver' fills in)."""
    for step in values["steps"]:
        if not step["approvers"] or step["approvers"][-1]["kind"] or step["approvers"][-1]["value"]:
            step["approvers"].append(blank_approver())
    return values


class Rows:
    """Which form row each document position came from (blank rows are dropped), so that a
    metadata error at `steps[1].approvers[0]` is shown beside the row the admin filled."""

    def __init__(self) -> None:
        self.approvers: dict[tuple[int, int], int] = {}
        self.actions: dict[tuple[str, int], str] = {}  # (outcome, position) -> "set" or "notify"

    def approver(self, step: int, position: int) -> int:
        return self.approvers.get((step, position), position)


def document_of(values: Mapping[str, Any], old: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem], Rows]:
    """(the process as the form says, the form's own problems, the row map for `pin`)."""
    document = copy.deepcopy(dict(old))
    problems: list[Problem] = []
    rows = Rows()
    _put(document, old, "x-label", _labels(values["label_en"], values["label_zh"]))
    _put(document, old, "description", values["description"] or None)
    document["object"] = values["object"]
    if not values["object"]:
        problems.append(("object", "form.required_value", {}))
    _put(document, old, "entry_condition", values["entry_condition"] or None)
    _put(document, old, "active", bool(values["active"]))
    roles = [r.strip() for r in values["submitter_roles"].replace("，", ",").split(",") if r.strip()]
    submitters: list[Any] = [*values["submitters"], *({"role": r} for r in roles)]
    if not submitters:
        problems.append(("submitters", "approvals.no_submitters", {}))
    _put(document, old, "submitters", submitters)
    if values["lock"] == "fields":
        fields = [f.strip() for f in values["lock_fields"].replace("，", ",").split(",") if f.strip()]
        if not fields:
            problems.append(("lock_fields", "form.required_value", {}))
        _put(document, old, "lock", {"fields": fields})
    else:
        _put(document, old, "lock", values["lock"] if values["lock"] in LOCKS else "record")
    if not values["notify"]:
        problems.append(("notify", "approvals.no_channel", {}))
    _put(document, old, "notify", values["notify"])
    _put(document, old, "allow_recall", bool(values["allow_recall"]))
    _put(document, old, "self_approval", values["self_approval"] if values["self_approval"] in SELF_APPROVAL
         else "forbid")
    for outcome in OUTCOMES:
        actions, found = _outcome(outcome, values, old.get(outcome, []), rows)
        problems += found
        _put(document, old, outcome, actions or None)
    old_steps = {s.get("name"): s for s in old.get("steps", [])}
    steps = []
    if not values["steps"]:
        problems.append(("steps", "approvals.no_steps", {}))
    for i, step in enumerate(values["steps"]):
        spec, step_problems = _step(i, step, old_steps.get(step["name"], {}), rows)
        steps.append(spec)
        problems += step_problems
    document["steps"] = steps
    return document, problems, rows


def _put(document: dict[str, Any], old: Mapping[str, Any], key: str, value: Any) -> None:
    """Set `key`, or leave it out when it is empty, or is the default and was left out before."""
    if value is None or (key not in old and key in _DEFAULTS and value == _DEFAULTS[key]):
        document.pop(key, None)
    else:
        document[key] = value


def _labels(en: str, zh: str) -> dict[str, str] | None:
    labels = {lang: text for lang, text in (("en", en), ("zh-CN", zh)) if text}
    return labels or None


def _outcome(outcome: str, values: Mapping[str, Any], old: list[Any], rows: Rows) -> tuple[list[Any], list[Problem]]:
    """The outcome's actions: the set_fields the form edits ("field = expression" per line) and
    its notification, each in the place it had (new ones: field changes first, the
    notification last), and the other actions as they were."""
    found: dict[str, str] = {}
    problems: list[Problem] = []
    for number, line in enumerate(values[f"{outcome}_set"].splitlines(), start=1):
        if not line.strip():
            continue
        match = _SET_LINE.match(line)
        if match is None:
            problems.append((f"{outcome}_set", "approvals.set_line_bad", {"line": number}))
        else:
            found[match.group(1)] = match.group(2)
    sets = {"type": "set_fields", "values": found} if found else None
    notify = _notify(outcome, values, next((a for a in old if a.get("type") == "notify"), {}), problems)
    actions: list[Any] = []
    placed = {"set_fields": False, "notify": False}
    for action in old:
        kind = action.get("type")
        if kind in placed and not placed[kind]:
            placed[kind] = True
            action = sets if kind == "set_fields" else notify
            if action is None:
                continue
        actions.append(action)
    if not placed["set_fields"] and sets is not None:
        actions.insert(0, sets)
    if not placed["notify"] and notify is not None:
        actions.append(notify)
    for index, action in enumerate(actions):
        if action is sets or action is notify:
            rows.actions[(outcome, index)] = "set" if action is sets else "notify"
    return actions, problems


def _notify(outcome: str, values: Mapping[str, Any], old: Mapping[str, Any],
            problems: list[Problem]) -> dict[str, Any] | None:
    """The outcome's notification as the form says (None: no channel chosen); recipients after
    the first and other keys are kept from the stored one."""
    field = f"{outcome}_notify_"
    channel = values[field + "channel"]
    if channel not in NOTIFY_CHANNELS[1:]:
        return None
    notify = {**copy.deepcopy(dict(old)), "type": "notify", "channel": channel}
    kind, value = values[field + "to_kind"], values[field + "to_value"]
    if kind not in RECIPIENTS or not value:
        problems.append((field + "to_value", "form.required_value", {}))
    else:
        notify["to"] = [{kind: value}, *list(old.get("to", []))[1:]]
    for key in ("subject", "body"):
        if values[field + key]:
            notify[key] = values[field + key]
        else:
            notify.pop(key, None)
    if not values[field + "body"]:
        problems.append((field + "body", "form.required_value", {}))
    return notify


def _step(i: int, step: Mapping[str, Any], old: Mapping[str, Any], rows: Rows) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    field = f"s{i}_"
    if not step["name"]:
        problems.append((field + "name", "form.required_value", {}))
    elif not NAME.match(step["name"]):
        problems.append((field + "name", "form.bad_name", {}))
    spec: dict[str, Any] = {"name": step["name"]}
    labels = _labels(step["label_en"], step["label_zh"])
    if labels:
        spec["label"] = labels
    if step["condition"]:
        spec["condition"] = step["condition"]
    approvers: list[dict[str, Any]] = []
    for j, row in enumerate(step["approvers"]):
        approver, problem = _approver(row["kind"], row["value"])
        if problem:
            problems.append((f"{field}a{j}_value", problem, {}))
        if approver is not None:
            rows.approvers[(i, len(approvers))] = j
            approvers.append(approver)
    if not approvers and not any(f.startswith(field + "a") for f, _, _ in problems):
        problems.append((field + "approvers", "approvals.no_approvers", {}))
    spec["approvers"] = approvers
    mode = step["mode"] if step["mode"] in MODES else "any"
    if mode == "at_least":
        if not _WHOLE.match(step["at_least"]) or int(step["at_least"]) < 1:
            problems.append((field + "at_least", "approvals.whole_number", {}))
        else:
            spec["mode"] = {"at_least": int(step["at_least"])}
    elif mode != "any" or "mode" in old:
        spec["mode"] = mode
    if step["esc_action"] in ESCALATIONS[1:]:
        escalation: dict[str, Any] = {"after_hours": _hours(step["esc_hours"], field + "esc_hours", problems),
                                      "action": step["esc_action"]}
        if step["esc_to_kind"] or step["esc_to_value"]:
            to, problem = _approver(step["esc_to_kind"], step["esc_to_value"])
            if problem:
                problems.append((field + "esc_to_value", problem, {}))
            elif to is not None:
                escalation["to"] = to
        spec["escalation"] = escalation
    if step["reminder_hours"]:
        spec["reminder_hours"] = _hours(step["reminder_hours"], field + "reminder_hours", problems)
    return spec, problems


def _hours(text: str, field: str, problems: list[Problem]) -> int:
    if not _WHOLE.match(text) or int(text) < 1:
        problems.append((field, "approvals.whole_number", {}))
        return 1
    return int(text)


def _approver(kind: str, value: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the approver, None), (None, None) for an empty row, or (None, a catalogue key)."""
    if not kind:
        return None, ("approvals.choose_kind" if value else None)
    if kind not in APPROVER_KINDS:
        return None, "approvals.choose_kind"
    if kind == "manager":
        if value not in ("", "1", "2"):
            return None, "approvals.manager_level"
        return {"manager": int(value or "1")}, None
    if not value:
        return None, "form.required_value"
    return {kind: value}, None


_STEP_PATH = re.compile(r"^\$\.steps\[(\d+)\](.*)$")
_STEP_FIELDS = (("name", "name"), ("label", "label_en"), ("condition", "condition"), ("mode", "mode"),
                ("escalation.after_hours", "esc_hours"), ("escalation.to", "esc_to_value"),
                ("escalation.action", "esc_action"), ("escalation", "esc_to_value"),  # bare: "needs to"
                ("reminder_hours", "reminder_hours"))


def pin(path: str, rows: Rows) -> str:
    """The form field a metadata error at a JSON path concerns."""
    found = _STEP_PATH.match(path)
    if found:
        i, rest = int(found.group(1)), found.group(2).lstrip(".")
        approver = re.match(r"^approvers\[(\d+)\]", rest)
        if approver:
            return f"s{i}_a{rows.approver(i, int(approver.group(1)))}_value"
        if rest.startswith("approvers"):
            return f"s{i}_approvers"
        if rest.startswith("mode") and "at_least" in rest:
            return f"s{i}_at_least"
        return f"s{i}_" + next((f for key, f in _STEP_FIELDS if rest.startswith(key)), "name")
    key = path[2:].split(".")[0].split("[")[0] if path.startswith("$.") else ""
    if key in OUTCOMES:
        action = re.match(rf"^\$\.{key}\[(\d+)\]\.?(\w*)", path)
        if action and rows.actions.get((key, int(action.group(1)))) == "notify":
            part = {"to": "to_value", "subject": "subject", "body": "body"}.get(action.group(2), "channel")
            return f"{key}_notify_{part}"
        return f"{key}_set"
    return {"x-label": "label_en", "submitters": "submitter_roles", "lock": "lock_fields"}.get(
        key, key if key in ("object", "entry_condition", "notify", "steps", "self_approval") else "object")


def flat(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values by form field name (`s0_name`, `s1_a0_kind`…), as the form macros read them."""
    out = {k: v for k, v in values.items() if k != "steps"}
    for i, step in enumerate(values["steps"]):
        out.update({f"s{i}_{k}": step[k] for k in _STEP_KEYS})
        for j, row in enumerate(step["approvers"]):
            out[f"s{i}_a{j}_kind"], out[f"s{i}_a{j}_value"] = row["kind"], row["value"]
    return out
