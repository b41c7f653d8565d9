"""A published score model compiled for running: parsed expressions, scales and bands.

The arithmetic of a score lives here and is pure: `points` maps a raw value through a scale,
`combine` turns factor results into a total (re-weighting over the factors that count) and
`band_of` finds the band. The runner feeds it values; the tests feed it numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from trellis.metadata.model import MetadataSet, localized
from trellis.metadata.score_models import STEP_KEY
from trellis.runtime.errors import NotFound
from trellis.runtime.expressions import CompiledExpression, compile_expression

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Aggregate:
    """A named aggregate of related records, computed per batch in one statement."""

    name: str
    object: str
    via: str
    function: str
    value: CompiledExpression | None
    where: CompiledExpression | None
    date_field: str | None
    within_days: int | None


@dataclass(frozen=True)
class Factor:
    name: str
    label: Mapping[str, str]
    value: CompiledExpression
    scale: Mapping[str, Any]
    weight: Decimal
    neutral: Decimal | None  # points for a blank value; None: leave the factor out and re-weight

    def title(self, locale: str) -> str:
        return localized(self.label, locale, self.name)


@dataclass(frozen=True)
class Band:
    value: str
    low: int
    high: int


@dataclass(frozen=True)
class ScoreModel:
    name: str
    object: str
    score_field: str
    band_field: str
    change_field: str | None
    aggregates: tuple[Aggregate, ...]
    factors: tuple[Factor, ...]
    bands: tuple[Band, ...]
    cron: str | None
    timezone: str | None
    recompute_on_change: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class FactorResult:
    """One factor for one record: what the snapshot keeps."""

    name: str
    raw: Any
    points: Decimal | None  # None: left out (blank or failed, without a neutral value)
    weight: Decimal  # the weight as defined
    applied_weight: Decimal = Decimal(0)  # after re-weighting over the factors that count
    contribution: Decimal = Decimal(0)
    error: str | None = None


def compile_model(name: str, document: Mapping[str, Any]) -> ScoreModel:
    """The runnable form of a model that passed publish."""
    aggregates = tuple(
        Aggregate(key, spec["object"], spec["via"], spec["function"],
                  compile_expression(spec["value"]) if "value" in spec else None,
                  compile_expression(spec["where"]) if "where" in spec else None,
                  spec.get("date_field"), spec.get("within_days"))
        for key, spec in document.get("aggregates", {}).items())
    factors = tuple(
        Factor(f["name"], _labels(f["label"]), compile_expression(f["value"]), f["scale"], Decimal(str(f["weight"])),
               Decimal(str(f["blank"]["neutral"])) if isinstance(f.get("blank"), Mapping) else None)
        for f in document["factors"])
    bands = tuple(Band(b["value"], b["min"], b["max"]) for b in document["bands"])
    schedule = document.get("schedule", {})
    return ScoreModel(name, document["object"], document["score_field"], document["band_field"],
                      document.get("change_field"), aggregates, factors, bands, schedule.get("cron"),
                      schedule.get("timezone"), tuple(document.get("recompute_on_change", ())),
                      document.get("active", True))


def models_of(metadata: MetadataSet) -> dict[str, ScoreModel]:
    return {name: compile_model(name, doc) for name, doc in metadata.documents("score_model").items()}


def model_named(metadata: MetadataSet, name: str) -> ScoreModel:
    documents = metadata.documents("score_model")
    if name not in documents:
        known = ", ".join(sorted(documents)) or "none"
        raise NotFound(f"no score model named '{name}' (score models: {known})")
    return compile_model(name, documents[name])


def _labels(label: str | Mapping[str, str]) -> Mapping[str, str]:
    return {"*": label} if isinstance(label, str) else dict(label)


def as_decimal(value: Any) -> Decimal:
    """A raw number as a Decimal (floats through their shortest text, so 0.1 stays 0.1)."""
    if isinstance(value, bool):
        raise TypeError("a yes/no value is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    raise TypeError(f"expected a number, got {type(value).__name__}")


def points(raw: Any, scale: Mapping[str, Any]) -> Decimal:
    """0-100 points for a raw number through a linear or threshold scale."""
    value = as_decimal(raw)
    direction = scale.get("direction", "higher_is_better")
    if scale["type"] == "linear":
        low, high = Decimal(str(scale["low"])), Decimal(str(scale["high"]))
        share = (value - low) / (high - low)
        share = min(Decimal(1), max(Decimal(0), share))
        if direction == "lower_is_better":
            share = 1 - share
        return (share * HUNDRED).quantize(CENT, ROUND_HALF_UP)
    key = STEP_KEY[direction]
    for step in scale["steps"]:
        bound = Decimal(str(step[key]))
        if (value >= bound) if key == "min" else (value <= bound):
            return Decimal(str(step["points"]))
    return Decimal(str(scale.get("otherwise", 0)))


def combine(results: Sequence[FactorResult]) -> tuple[Decimal | None, list[FactorResult]]:
    """The total and each factor with its applied weight and contribution. Factors without
    points are left out and the others' weights scaled up to 100; None when none count."""
    counted = sum((r.weight for r in results if r.points is not None), Decimal(0))
    if counted == 0:
        return None, list(results)
    out = []
    total = Decimal(0)
    for result in results:
        if result.points is None:
            out.append(result)
            continue
        applied = result.weight * HUNDRED / counted
        contribution = (result.points * applied / HUNDRED).quantize(CENT, ROUND_HALF_UP)
        total += contribution
        out.append(FactorResult(result.name, result.raw, result.points, result.weight,
                                applied.quantize(CENT, ROUND_HALF_UP), contribution, result.error))
    return total, out


def whole(score: Decimal) -> int:
    """The score as stored and banded: a whole number, halves rounded up."""
    return int(score.quantize(Decimal(1), ROUND_HALF_UP))


def band_of(score: int, bands: Sequence[Band]) -> str | None:
    return next((b.value for b in bands if b.low <= score <= b.high), None)
