"""A picture of an approval process: submit → entry condition → each step (its approvers and
mode, its condition on the edge into it, a skip edge around it, its escalation) → approved, with
every step's reject edge to rejected and the outcomes' field changes under them.

A pure function of the document (the draft as edited), so the designer shows the flow before
anything is published and a test can parse it. The SVG is drawn on the server: text is escaped,
styling is presentation attributes only (the pages' Content-Security-Policy forbids inline
scripts and style attributes), and nothing is fetched. An optional simulation greys out the
steps that would be skipped for a chosen record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from trellis.designer.approval_forms import APPROVER_KINDS, ESCALATIONS
from trellis.metadata.approval_processes import at_least
from trellis.metadata.objects import label_of

Words = Callable[..., str]  # Translator.t: catalogue key, values -> text

WIDTH = 650
BOX_X, BOX_W = 170, 320
LINE = 18
EDGE = 46  # the gap between two boxes, where an edge's condition is written
MAX_CHARS = 44  # columns (a CJK character takes two) before a text is cut with …
_INK, _MUTED, _GREEN, _RED, _AMBER = "#243b53", "#829ab1", "#2f8132", "#ba2525", "#8d2b0b"
_FONT = 'system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif'


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, limit: int = MAX_CHARS) -> str:
    """At most `limit` columns, cut with … (a picture is not the place for a long expression)."""
    if _columns(text) <= limit:
        return text
    out, used = [], 0
    for char in text:
        used += _columns(char)
        if used > limit - 1:
            break
        out.append(char)
    return "".join(out) + "…"


def wrap(parts: list[str], limit: int = MAX_CHARS, most: int = 3) -> list[str]:
    """Comma-separated parts over at most `most` lines of `limit` columns (the last one clipped)."""
    lines: list[str] = []
    for part in parts:
        if lines and _columns(lines[-1]) + 2 + _columns(part) <= limit:
            lines[-1] += ", " + part
        elif len(lines) < most:
            lines.append(part)
        else:
            lines[-1] += ", " + part
    return lines


def _title(labels: Any, language: str, fallback: str) -> str:
    found = label_of(labels or {})
    return found.get(language) or found.get("*") or found.get("en") or fallback


def approver_text(approver: Mapping[str, Any], t: Words) -> str:
    """"Manager", "Role: finance", "Field owner_id"… (a malformed entry as it is)."""
    if len(approver) != 1:
        return "?"
    (kind, value), = approver.items()
    return t(f"approvals.who.{kind}", value=value) if kind in APPROVER_KINDS else f"{kind}: {value}"


def mode_text(mode: Any, t: Words) -> str:
    if isinstance(mode, Mapping):
        return t("approvals.mode.at_least_n", n=at_least(mode))
    return t(f"approvals.mode.{mode}") if mode in ("any", "all") else str(mode)


def escalation_text(escalation: Mapping[str, Any], t: Words) -> str:
    to = escalation.get("to")
    action = escalation.get("action")
    shown = t(f"approvals.esc.{action}") if action in ESCALATIONS[1:] else str(action)
    return t("approvals.flow.escalates", hours=escalation.get("after_hours"), action=shown) + \
        (f" → {approver_text(to, t)}" if isinstance(to, Mapping) else "")


class _Canvas:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, x: float, y: float, content: str, *, size: int = 13, fill: str = _INK, anchor: str = "middle",
             weight: str = "normal") -> None:
        self.parts.append(f'<text x="{x:g}" y="{y:g}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
                          f'font-weight="{weight}">{escape(clip(content))}</text>')

    def box(self, x: float, y: float, w: float, h: float, *, stroke: str = _INK, fill: str = "#ffffff",
            dashed: bool = False, round_: int = 6) -> None:
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        self.parts.append(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="{round_}" fill="{fill}" '
                          f'stroke="{stroke}" stroke-width="1.5"{dash}/>')

    def line(self, points: list[tuple[float, float]], *, stroke: str = _INK, dashed: bool = False,
             arrow: bool = True) -> None:
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        head = f' marker-end="url(#arrow-{_colour_name(stroke)})"' if arrow else ""
        path = " ".join(f"{x:g},{y:g}" for x, y in points)
        self.parts.append(f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="1.5"{dash}{head}/>')

    def open(self, cls: str, **data: str) -> None:
        attrs = "".join(f" data-{k}={quoteattr(v)}" for k, v in data.items())
        self.parts.append(f'<g class="{cls}"{attrs}>')

    def close(self) -> None:
        self.parts.append("</g>")


def _colour_name(colour: str) -> str:
    return {_INK: "ink", _MUTED: "muted", _GREEN: "green", _RED: "red", _AMBER: "amber"}[colour]


def _marker(name: str, colour: str) -> str:
    return (f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')


def flow_svg(document: Mapping[str, Any], t: Words, language: str, ran: Mapping[str, bool] | None = None) -> str:
    """The process as SVG text (a well-formed XML document fragment rooted at <svg>).
    `ran`: step name → whether a simulation ran it (skipped steps are drawn faded)."""
    c = _Canvas()
    centre = BOX_X + BOX_W / 2
    steps = [s for s in document.get("steps", []) if isinstance(s, Mapping)]
    title = _title(document.get("x-label"), language, "")
    c.open("start")
    c.box(centre - 90, 14, 180, 34, fill="#f0f4f8", round_=17)
    c.text(centre, 36, t("approvals.flow.submit"), weight="600")
    c.close()
    y = 48.0
    entry = document.get("entry_condition")
    if entry:
        c.open("entry", condition=str(entry))
        c.line([(centre, y), (centre, y + 32)], stroke=_INK, arrow=False)
        c.text(centre + 8, y + 20, t("approvals.flow.if", condition=entry), size=12, fill=_AMBER, anchor="start")
        c.line([(centre + 90, 31), (WIDTH - 150, 31)], stroke=_MUTED, dashed=True)
        c.box(WIDTH - 150, 14, 130, 34, stroke=_MUTED, fill="#f8f9fa", dashed=True)
        c.text(WIDTH - 85, 36, t("approvals.flow.not_entered"), size=12, fill=_MUTED)
        c.close()
        y += 32  # the entry's own stretch of edge, before the first step's
    reject_x = 70.0
    rejects: list[float] = []
    for index, step in enumerate(steps):
        name = str(step.get("name", ""))
        runs = True if ran is None else ran.get(name, True)
        who = [approver_text(a, t) for a in step.get("approvers", []) if isinstance(a, Mapping)]
        lines = [*(wrap(who) or [t("approvals.flow.nobody")]), mode_text(step.get("mode", "any"), t)]
        escalation = step.get("escalation")
        if isinstance(escalation, Mapping):
            lines.append(escalation_text(escalation, t))
        if "reminder_hours" in step:
            lines.append(t("approvals.flow.reminds", hours=step["reminder_hours"]))
        height = 30 + LINE * len(lines)
        top = y + EDGE
        colour = _INK if runs else _MUTED
        c.open("step", step=name, runs="true" if runs else "false")
        c.line([(centre, y), (centre, top)], stroke=colour)
        condition = step.get("condition")
        if condition:
            c.text(centre + 8, y + 20, t("approvals.flow.if", condition=condition), size=12, fill=_AMBER,
                   anchor="start")
            skip_x = BOX_X + BOX_W + 40
            c.line([(centre, y + 28), (skip_x, y + 28), (skip_x, top + height + 10), (centre + 6, top + height + 10)],
                   stroke=_MUTED, dashed=True)
            c.text(skip_x + 6, top + height / 2 + 4, t("approvals.flow.skip"), size=12, fill=_MUTED, anchor="start")
        c.box(BOX_X, top, BOX_W, height, stroke=colour, fill="#ffffff" if runs else "#f8f9fa", dashed=not runs)
        heading = f"{index + 1}. {_title(step.get('label'), language, name)}"
        if not runs:
            heading += f" ({t('approvals.sim.skipped')})"
        c.text(centre, top + 20, heading, weight="600", fill=colour)
        for number, text in enumerate(lines):
            c.text(centre, top + 20 + LINE * (number + 1), text, size=12, fill=colour if number else _INK)
        c.close()
        rejects.append(top + height / 2)
        y = top + height + (10 if condition else 0)
    approved_top = y + EDGE
    c.open("outcome", outcome="approved")
    c.line([(centre, y), (centre, approved_top)], stroke=_GREEN)
    c.box(centre - 110, approved_top, 220, 34, stroke=_GREEN, fill="#e3f8ec", round_=17)
    c.text(centre, approved_top + 22, t("approvals.flow.approved"), weight="600", fill=_GREEN)
    bottom = approved_top + 34
    for number, text in enumerate(_set_lines(document.get("on_approved"))):
        c.text(centre, bottom + 18 + LINE * number, text, size=12, fill=_GREEN)
    c.close()
    c.open("outcome", outcome="rejected")
    for middle in rejects:
        c.line([(BOX_X, middle), (reject_x, middle)], stroke=_RED, arrow=False)
    if rejects:
        c.line([(reject_x, rejects[0]), (reject_x, approved_top)], stroke=_RED)
        c.text(reject_x - 6, rejects[0] - 6, t("approvals.flow.rejects"), size=12, fill=_RED, anchor="start")
    c.box(reject_x - 55, approved_top, 110, 34, stroke=_RED, fill="#ffe3e3", round_=17)
    c.text(reject_x, approved_top + 22, t("approvals.flow.rejected"), weight="600", fill=_RED)
    for number, text in enumerate(_set_lines(document.get("on_rejected"))):
        c.text(reject_x - 55, bottom + 18 + LINE * number, text, size=12, fill=_RED, anchor="start")
    c.close()
    outcome_lines = max(len(_set_lines(document.get("on_approved"))), len(_set_lines(document.get("on_rejected"))))
    total = bottom + 18 + LINE * outcome_lines
    markers = "".join(_marker(n, colour) for n, colour in (("ink", _INK), ("muted", _MUTED), ("green", _GREEN),
                                                         ("red", _RED), ("amber", _AMBER)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="flow" viewBox="0 0 {WIDTH} {total:g}" '
            f'width="{WIDTH}" height="{total:g}" role="img" aria-label={quoteattr(title or "flow")} '
            f'font-family={quoteattr(_FONT)}><title>{escape(title)}</title><defs>{markers}</defs>'
            + "".join(c.parts) + "</svg>")


def _set_lines(actions: Any) -> list[str]:
    """An outcome's field changes, "field = expression", then one line per other action."""
    out: list[str] = []
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, Mapping):
            continue
        if action.get("type") == "set_fields" and isinstance(action.get("values"), Mapping):
            out += [f"{k} = {v}" for k, v in action["values"].items()]
        else:
            out.append(f"+ {action.get('type', '?')}")
    return out[:8]
