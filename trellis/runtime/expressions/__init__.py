"""Evaluating formulas (runtime): in Python per record, and translated to SQL for filters and sorts.

The language itself (grammar, size limits, function signatures) is `trellis.metadata.expressions`;
the admin's guide is `docs/expressions.md`.
"""

from trellis.runtime.expressions.context import EvaluationContext
from trellis.runtime.expressions.evaluate import CompiledExpression, compile_expression, evaluate
from trellis.runtime.expressions.sql import to_sql
from trellis.runtime.expressions.sql_values import NotExpressibleInSQL
from trellis.runtime.expressions.values import EvaluationError

__all__ = [
    "CompiledExpression",
    "EvaluationContext",
    "EvaluationError",
    "NotExpressibleInSQL",
    "compile_expression",
    "evaluate",
    "to_sql",
]
