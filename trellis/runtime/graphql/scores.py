"""Score explanations in every tenant schema: `explainScore(object, id, model, history)`.

The score and band of a record, each factor's raw value, points, weight and contribution, the
sentences saying what moved since the previous run, and the snapshots for a trend line; read
by `trellis.runtime.scores.explain` in the thread pool, with the caller's read permission on
the record (NOT_FOUND / FORBIDDEN otherwise).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from strawberry.types import Info
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from trellis.runtime.graphql.inbox import InboxFields, PlatformFields
from trellis.runtime.graphql.resolvers import _call, context, given
from trellis.runtime.scores.explain import explain

DEFAULT_HISTORY = 30


def _raw(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


async def explain_score(root: Any, info: Info, object: str, id: str, model: str | None = None,
                        history: int = DEFAULT_HISTORY) -> dict[str, Any]:
    ctx = context(info)
    found = await _call(explain, ctx.records, ctx.actor, object, id, given(model), history)
    result = asdict(found)
    result["factors"] = [{**f, "raw": _raw(f["raw"]), "previous_raw": _raw(f["previous_raw"])} for f in result["factors"]]
    return result


class ScoreFields(PlatformFields):
    """The explanation types and the root field, named beside the inbox's."""

    def __init__(self, platform: InboxFields):
        self.platform = platform
        f = platform.maker.field
        self.factor = platform.maker.object_type(platform._type("ScoreFactor"), [
            f("name", "name", "str"), f("label", "label", "str"),
            f("raw", "raw", "str | None", description="The factor's value as JSON; null when blank or failed."),
            f("points", "points", "float | None", description="0-100 from the scale; null when left out."),
            f("weight", "weight", "float"),
            f("applied_weight", "appliedWeight", "float | None", description="The weight after re-weighting over "
                                                                             "the factors that counted."),
            f("contribution", "contribution", "float | None"), f("error", "error", "str | None"),
            f("previous_raw", "previousRaw", "str | None"),
            f("change", "change", "float | None", description="Contribution now minus in the previous run.")],
            "One factor of a score.").__name__
        self.snapshot = platform.maker.object_type(platform._type("ScoreSnapshot"), [
            f("computed_at", "computedAt", "DateTime"), f("score", "score", "Decimal | None"),
            f("band", "band", "str | None"), f("release", "release", "int")],
            "A record's score in one run.").__name__
        self.explanation = platform.maker.object_type(platform._type("ScoreExplanation"), [
            f("model", "model", "str"), f("object", "object", "str"), f("record_id", "recordId", "ID"),
            f("score", "score", "Decimal | None"), f("band", "band", "str | None"),
            f("computed_at", "computedAt", "DateTime"), f("release", "release", "int"),
            f("factors", "factors", f"list[{self.factor}]"),
            f("changes", "changes", "list[str]", description="What moved since the previous run, biggest first."),
            f("previous", "previous", f"{self.snapshot} | None"),
            f("history", "history", f"list[{self.snapshot}]", description="Newest first.")],
            "Why a record has its score.").__name__

    def query_fields(self) -> list[StrawberryField]:
        return [self.platform._field("explainScore", self.explanation, explain_score, [
            ("object", "object", "str", UNSET), ("id", "id", "ID", UNSET), ("model", "model", "str | None", UNSET),
            ("history", "history", "int", DEFAULT_HISTORY)],
            "A record's newest score explained: each factor's part and what changed since the previous run "
            "(the model scoring the object, or the one named), with `history` snapshots for a trend.")]
