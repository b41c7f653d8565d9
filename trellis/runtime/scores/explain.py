"""Why a record has its score: each factor's part, and what moved it since the previous run.

Read from the snapshots alone (they keep labels-by-name, raw values, points and weights as
they were computed), so an explanation of last week's score stays true after the model changes.
The caller's permission to read the record is checked through the records service first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from trellis.metadata.model import MetadataSet
from trellis.runtime.access import Actor
from trellis.runtime.errors import NotFound
from trellis.runtime.records.service import RecordsService
from trellis.runtime.scores.model import ScoreModel, models_of
from trellis.runtime.scores.tables import score_snapshots

MAX_HISTORY = 366


@dataclass(frozen=True)
class FactorLine:
    name: str
    label: str
    raw: Any
    points: float | None
    weight: float
    applied_weight: float | None
    contribution: float | None
    error: str | None
    previous_raw: Any = None
    change: float | None = None  # contribution now minus contribution in the previous snapshot


@dataclass(frozen=True)
class Snapshot:
    computed_at: datetime
    score: Decimal | None
    band: str | None
    release: int


@dataclass(frozen=True)
class Explanation:
    model: str
    object: str
    record_id: str
    score: Decimal | None
    band: str | None
    computed_at: datetime
    release: int
    factors: list[FactorLine]
    changes: list[str]  # sentences, biggest move first
    previous: Snapshot | None
    history: list[Snapshot]  # newest first


def model_for(metadata: MetadataSet, object_name: str, model: str | None) -> ScoreModel:
    """The model asked for, or the one model scoring `object_name`."""
    models = models_of(metadata)
    if model is not None:
        if model not in models or models[model].object != object_name:
            known = ", ".join(sorted(n for n, m in models.items() if m.object == object_name)) or "none"
            raise NotFound(f"no score model '{model}' for {object_name} (score models of {object_name}: {known})")
        return models[model]
    found = [m for m in models.values() if m.object == object_name]
    if not found:
        raise NotFound(f"no score model scores {object_name}")
    return sorted(found, key=lambda m: m.name)[0]


def explain(records: RecordsService, actor: Actor, object_name: str, record_id: str, model_name: str | None = None,
            history: int = 30) -> Explanation:
    """The newest snapshot of the record explained, with its change and a trend of `history` runs."""
    model = model_for(records.registry.metadata, object_name, model_name)
    records.get(actor, object_name, record_id)  # NotFound / Forbidden for a record the actor may not read
    with records.db.read() as conn:
        found = conn.execute(select(score_snapshots).where(
            score_snapshots.c.model == model.name, score_snapshots.c.record_id == record_id)
            .order_by(score_snapshots.c.computed_at.desc(), score_snapshots.c.id.desc())
            .limit(max(2, min(history, MAX_HISTORY)))).mappings().all()
    rows: list[dict[str, Any]] = [dict(row) for row in found]
    if not rows:
        raise NotFound(f"{object_name} {record_id} has not been scored by {model.name} yet; "
                       f"run `trellis scores run --model {model.name}`")
    labels = {f.name: f.title(records.locale) for f in model.factors}
    latest = rows[0]
    before = rows[1] if len(rows) > 1 else None
    previous_factors = {f["name"]: f for f in json.loads(before["factors"])} if before else {}
    lines = [_line(f, labels, previous_factors.get(f["name"])) for f in json.loads(latest["factors"])]
    changes = _sentences(latest, before, lines, records.locale)
    return Explanation(model.name, object_name, record_id, latest["score"], latest["band"], latest["computed_at"],
                       latest["release"], lines, changes, _snapshot(before) if before else None,
                       [_snapshot(r) for r in rows[:history]])


def _snapshot(row: Mapping[str, Any]) -> Snapshot:
    return Snapshot(row["computed_at"], row["score"], row["band"], row["release"])


def _line(factor: Mapping[str, Any], labels: Mapping[str, str], before: Mapping[str, Any] | None) -> FactorLine:
    change = None
    if before is not None:
        change = round((factor["contribution"] or 0) - (before["contribution"] or 0), 2)
    return FactorLine(factor["name"], labels.get(factor["name"], factor["name"]), factor["raw"], factor["points"],
                      factor["weight"], factor["applied_weight"], factor["contribution"], factor["error"],
                      before["raw"] if before else None, change)


def _sentences(latest: Mapping[str, Any], before: Mapping[str, Any] | None, lines: Sequence[FactorLine],
               locale: str) -> list[str]:
    if before is None:
        return []
    chinese = locale.lower().startswith("zh")
    out = []
    if latest["score"] is not None and before["score"] is not None and latest["score"] != before["score"]:
        old, new = _show(before["score"]), _show(latest["score"])
        delta = _signed(float(latest["score"]) - float(before["score"]))
        band = f"; {before['band']} → {latest['band']}" if before["band"] != latest["band"] else ""
        out.append(f"得分从 {old} 变为 {new}（{delta}）{band}" if chinese else
                   f"Score {'rose' if latest['score'] > before['score'] else 'fell'} from {old} to {new} ({delta}){band}")
    moved = sorted((line for line in lines if line.change), key=lambda line: -abs(line.change or 0))
    for line in moved:
        amount = _signed(line.change or 0)
        if (line.raw is None) != (line.previous_raw is None):
            now, was = _show(line.raw), _show(line.previous_raw)
            blank = "空" if chinese else "blank"
            now, was = (now, blank) if line.previous_raw is None else (blank, was)
            out.append(f"{line.label}：{was} → {now}：{amount} 分" if chinese else
                       f"{line.label} went from {was} to {now}: {amount} points")
        elif line.raw != line.previous_raw:
            rose = _compare(line.raw, line.previous_raw)
            verb = ("上升" if rose else "下降") if chinese else ("rose" if rose else "fell")
            old, new = _show(line.previous_raw), _show(line.raw)
            out.append(f"{line.label}从 {old} {verb}到 {new}：{amount} 分" if chinese else
                       f"{line.label} {verb} from {old} to {new}: {amount} points")
        else:
            out.append(f"{line.label}未变（{_show(line.raw)}），权重变化：{amount} 分" if chinese else
                       f"{line.label} unchanged at {_show(line.raw)}; its weight changed: {amount} points")
    return out


def _compare(new: Any, old: Any) -> bool:
    try:
        return bool(new > old)
    except TypeError:  # values that do not compare (texts against numbers): say "changed" as a fall
        return False


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (float, Decimal)):
        return f"{float(value):.2f}".rstrip("0").rstrip(".")
    return str(value)


def _signed(value: float) -> str:
    text = f"{abs(value):.2f}".rstrip("0").rstrip(".")
    return f"+{text}" if value > 0 else f"−{text}"
