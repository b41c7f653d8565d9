"""The expression language: what parses, what is refused at save time, what analysis finds."""

from __future__ import annotations

import ast

import pytest
from simpleeval import SimpleEval

from trellis.metadata.expressions import (
    FUNCTIONS,
    MAX_LENGTH,
    MAX_NODES,
    VOLATILE_FUNCTIONS,
    ExpressionError,
    analyse,
    check,
    parse,
)
from trellis.metadata.model import FieldType

FIELDS = {
    "amount": FieldType.CURRENCY,
    "quantity": FieldType.INTEGER,
    "unit_price": FieldType.CURRENCY,
    "end_date": FieldType.DATE,
    "status": FieldType.ENUM,
    "account": FieldType.LOOKUP,
    "name": FieldType.STRING,
}
LOOKUPS = {"account": {"tier": FieldType.ENUM, "name": FieldType.STRING}}


def refusal(source: str) -> str:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    return caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "quantity * unit_price",
        "days_between(today(), end_date)",
        "if_(amount > 1000, 'big', 'small')",
        "status in ['生效', '草稿'] and not is_blank(end_date)",
        "status not in ('a', 'b')",
        "account.tier == '战略'",
        "-amount + 2 ** 10 // 3 % 7",
        "round(amount / 3, 2)",
        "coalesce(name, 'n/a')",
        "amount if amount else None",
        "1 < quantity <= 10",
        "True or False",
        "date_trunc('month', end_date)",
        "max(1, 2, 3) - min(4, 5) + abs(-1) + len(name)",
    ],
)
def test_valid_expressions_parse(source: str) -> None:
    assert isinstance(parse(source), ast.Expr)


def test_parse_returns_what_simpleeval_would_parse() -> None:
    source = "  quantity * unit_price \n"
    tree = parse(source)
    assert ast.dump(tree) == ast.dump(SimpleEval.parse(source))
    evaluator = SimpleEval(names={"quantity": 3, "unit_price": 2.5})
    assert evaluator.eval(source, previously_parsed=tree) == 7.5


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("().__class__.__bases__[0]", "indexing"),
        ("().__class__", "__class__"),
        ("name.__class__", "__class__"),
        ("account.func_globals", "evaluator"),
        ("account.format", "evaluator"),
        ("__import__", "_"),
        ("_secret", "_"),
        ("(x for x in ())", "generator"),
        ("[x for x in name]", "comprehension"),
        ("f'{name}'", "f-string"),
        ("9**9**9**9", "power of a power"),
        ("2 ** 1000", "exponent"),
        ("lambda: 1", "lambda"),
        ("(y := 3)", "assignment"),
        ("name[0]", "indexing"),
        ("{'a': 1}", "dictionaries"),
        ("{1, 2}", "sets"),
        ("open('x')", "unknown function"),
        ("name.upper()", "library functions"),
        ("account.owner.name", "one level"),
        ("lower(s=name)", "keyword"),
        ("max(*name)", "unpacking"),
        ("amount | 1", "|"),
        ("amount is None", "is"),
        ("b'x'", "constant"),
        ("1j", "constant"),
        ("x = 1", "statement"),
        ("import os", "statement"),
        ("a; b", "single expression"),
        ("", "empty"),
        ("amount +", "syntax error"),
        ("[1, 2]", "list"),
        ("today", "function"),
        ("days_between(today())", "2 arguments"),
        ("today(1)", "0 arguments"),
        ("date_trunc('decade', end_date)", "unit"),
    ],
)
def test_refused_expressions(source: str, words: str) -> None:
    assert words in refusal(source)


def test_length_and_size_limits() -> None:
    assert "limit" in refusal("a" * (MAX_LENGTH + 1))
    many = " + ".join(["amount"] * (MAX_NODES // 2 + 1))
    assert len(many) <= MAX_LENGTH
    assert "too large" in refusal(many)
    assert "too large" in refusal("-" * 998 + "1")
    assert "nested parentheses" in refusal("(" * 300 + "1" + ")" * 300)
    assert "null bytes" in refusal("a\x00b")


def test_error_column_counts_characters_not_bytes() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("'高高' == name[0]")
    assert caught.value.column == 9
    assert "column 9" in str(caught.value)


def test_unknown_function_suggests_the_closest() -> None:
    assert "did you mean 'today'" in refusal("todya()")


def test_analyse_separates_names_attributes_and_functions() -> None:
    analysis = analyse("if_(account.tier == '战略', days_between(today(), end_date), amount)")
    assert analysis.names == {"end_date", "amount"}
    assert analysis.attributes == {("account", "tier")}
    assert analysis.functions == {"if_", "days_between", "today"}
    assert isinstance(analysis.tree, ast.Expr)


def test_check_valid_expression_has_no_problems() -> None:
    assert check("account.tier == '战略' and quantity * unit_price > amount", FIELDS, LOOKUPS) == []
    assert check("is_blank(name) or name != None or True", FIELDS, LOOKUPS) == []


def test_check_unknown_field_suggests() -> None:
    assert check("amout * 2", FIELDS, LOOKUPS) == ["unknown field 'amout'; did you mean 'amount'?"]


def test_check_lookup_problems() -> None:
    assert check("account.tire", FIELDS, LOOKUPS) == [
        "unknown field 'tire' on the object that 'account' points to; did you mean 'tier'?"
    ]
    assert "'name' is not a lookup" in check("name.first", FIELDS, LOOKUPS)[0]
    assert "unknown field 'acount'" in check("acount.tier", FIELDS, LOOKUPS)[0]


def test_check_lookup_with_unknown_target_is_left_to_the_lookup_check() -> None:
    assert check("account.tier", FIELDS, {}) == []


def test_check_reports_syntax_and_arity_as_sentences() -> None:
    assert check("amount +", FIELDS, LOOKUPS)[0].startswith("syntax error")
    assert check("round()", FIELDS, LOOKUPS) == ["round() takes 1 to 2 arguments; got 0 (at column 1)"]
    assert check("coalesce()", FIELDS, LOOKUPS) == ["coalesce() takes at least 1 argument; got 0 (at column 1)"]


def test_function_library() -> None:
    assert VOLATILE_FUNCTIONS == {"today", "now"}
    assert VOLATILE_FUNCTIONS <= FUNCTIONS.keys()
    assert FUNCTIONS["round"].min_args == 1 and FUNCTIONS["round"].max_args == 2
    assert FUNCTIONS["coalesce"].max_args is None
    assert all(spec.summary and spec.returns for spec in FUNCTIONS.values())
    with pytest.raises(TypeError):
        FUNCTIONS["rand"] = FUNCTIONS["round"]  # type: ignore[index]
