"""The known simpleeval escapes and bombs are refused when a formula is saved AND stopped by the
evaluator when it is handed a raw tree that never went through the metadata parser."""

from __future__ import annotations

import ast
import operator
import os
import sys
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import simpleeval

from trellis.metadata.expressions import ExpressionError, parse
from trellis.runtime.expressions import EvaluationContext, EvaluationError, compile_expression, evaluate
from trellis.runtime.expressions.evaluate import evaluate_tree

CTX = EvaluationContext(ZoneInfo("Asia/Shanghai"), datetime(2026, 3, 1, tzinfo=UTC))
POWER_BOMB = "9**" * 25 + "99"  # 77 characters

PAYLOADS = [
    # generator frames reach the evaluator's globals
    "(x for x in [1]).gi_frame.f_back.f_back.f_globals",
    "[y for y in (x.gi_frame for x in [1])]",
    # dunder walks to builtins and modules
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os').system('id')",
    "x.__class__.__init__.__globals__",
    "account.__dict__",
    # format strings read attributes by name
    "'{0.__class__.__mro__}'.format(x)",
    "'{a.__init__.__globals__}'.format_map(m)",
    "f'{x.__class__}'",
    "x.format",
    # operator.attrgetter and friends, and calling anything that is not a library function
    "attrgetter('__class__')(x)",
    "getter(x)",
    "lower.__call__('A')",
    "(lambda: 1)()",
    # bombs
    POWER_BOMB,
    "10 ** 10 ** 10",
    "[1 for a in [1] for b in [1]] * 10",
    "x[0:10**9]",
]


@pytest.mark.parametrize("source", PAYLOADS)
def test_payloads_are_refused_at_save_time(source: str):
    with pytest.raises(ExpressionError):
        parse(source)


@pytest.mark.parametrize("source", PAYLOADS)
def test_payloads_are_stopped_by_the_evaluator_given_a_raw_tree(source: str):
    """Defence in depth: the tree here comes from ast.parse, not from the whitelist."""
    tree = ast.parse(source).body[0]
    record: dict[str, Any] = {"x": 1, "m": {}, "getter": operator.attrgetter("__class__"), "account": "a1"}
    with pytest.raises(EvaluationError):
        evaluate_tree(source, tree, record, {"account": {"tier": "a"}}, CTX)


def test_the_77_character_power_bomb_is_exactly_that():
    assert len(POWER_BOMB) == 77
    tree = ast.parse(POWER_BOMB).body[0]
    with pytest.raises(EvaluationError, match="too large"):
        evaluate_tree(POWER_BOMB, tree, {}, {}, CTX)


def test_modules_and_forbidden_functions_in_the_data_are_refused():
    for value in (os, sys, operator.attrgetter("__class__"), eval, getattr):
        with pytest.raises(EvaluationError):
            evaluate(compile_expression("x"), {"x": value}, {}, CTX)
    with pytest.raises(EvaluationError):
        evaluate(compile_expression("x.system"), {"x": "a"}, {"x": os}, CTX)
    with pytest.raises(EvaluationError):
        evaluate(compile_expression("x.path"), {"x": "a"}, {"x": {"path": os.path}}, CTX)


def test_text_growth_is_capped():
    with pytest.raises(EvaluationError, match="the limit is 10000"):
        evaluate(compile_expression('"a" * 10**9'), {}, {}, CTX)
    with pytest.raises(EvaluationError, match="the limit is 10000"):
        evaluate(compile_expression("t + t"), {"t": "x" * 6_000}, {}, CTX)
    assert evaluate(compile_expression("'ab' * 3"), {}, {}, CTX) == "ababab"


def test_a_deeply_nested_raw_tree_is_stopped():
    node: ast.expr = ast.Constant(1)
    for _ in range(100_000):
        node = ast.UnaryOp(ast.USub(), node)
    with pytest.raises(EvaluationError, match="nested too deeply"):
        evaluate_tree("-" * 100_000 + "1", ast.Expr(node), {}, {}, CTX)


def test_a_huge_text_literal_in_a_raw_tree_is_refused():
    tree = ast.Expr(ast.Constant("x" * 20_000))
    with pytest.raises(EvaluationError, match="longer than"):
        evaluate_tree("...", tree, {}, {}, CTX)


def test_simpleeval_module_settings_are_left_alone():
    """Our limits are our own; nothing patches simpleeval's module globals for everyone."""
    assert simpleeval.MAX_POWER == 4_000_000
    assert "rand" not in compile_expression("1").functions
    with pytest.raises(ExpressionError, match="unknown function 'rand'"):
        parse("rand()")
