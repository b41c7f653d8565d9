"""`create_record` with `for_each`: the children must exist (object, its lookup `via`, the
parent lookup), and the values read the child as item.<field>, checked like any expression."""

from __future__ import annotations

from typing import Any

from trellis.metadata.model import FieldType
from trellis.metadata.workflow_rules import ObjectFields, check_rule

L, S, N = FieldType.LOOKUP, FieldType.STRING, FieldType.NUMBER
OBJECTS = {
    "quote": ObjectFields({"name": S, "contract": L, "next_contract": L}, {"contract": "contract",
                                                                           "next_contract": "contract"}, ()),
    "quote_line": ObjectFields({"quote": L, "product": S, "price": N}, {"quote": "quote"}, ()),
    "contract": ObjectFields({"name": S}, {}, ()),
    "contract_line": ObjectFields({"contract": L, "product": S, "price": N}, {"contract": "contract"}, ()),
}


def rule(for_each: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    return {"object": "quote", "trigger": {"type": "record", "events": ["updated"]}, "actions": [
        {"type": "create_record", "object": "contract_line", "for_each": for_each, "values": values}]}


def problems(document: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    return check_rule(document, OBJECTS, list(OBJECTS), [])


def test_a_sound_for_each() -> None:
    values = {"contract": "next_contract", "product": "item.product", "price": "item.price * 2"}
    assert problems(rule({"object": "quote_line", "via": "quote"}, values)) == []
    assert problems(rule({"object": "contract_line", "via": "contract", "parent": "contract"}, values)) == []


def test_each_mistake_names_its_path() -> None:
    found = problems(rule({"object": "quote_lines", "via": "quote"}, {"product": "item.product"}))
    assert [(p, "did you mean 'quote_line'" in m) for p, m in found] == [(("actions", 0, "for_each", "object"), True)]
    found = problems(rule({"object": "quote_line", "via": "product", "parent": "name"}, {"product": "item.product"}))
    assert [p for p, _ in found] == [("actions", 0, "for_each", "via"), ("actions", 0, "for_each", "parent")]
    found = problems(rule({"object": "quote_line", "via": "quote"}, {"product": "item.prodcut"}))
    assert [p for p, _ in found] == [("actions", 0, "values", "product")] and "item" in found[0][1]
    without = {"object": "quote", "trigger": {"type": "record", "events": ["updated"]}, "actions": [
        {"type": "create_record", "object": "contract_line", "values": {"product": "item.product"}}]}
    assert [p for p, _ in problems(without)] == [("actions", 0, "values", "product")]  # no item without for_each
