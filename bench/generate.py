"""Metadata built in code for the benchmarks: realistic documents, deterministic, any size.

A field pattern of 30 kinds (strings, Chinese enums, integers, money, percentages, dates,
date-times, booleans, lookups to earlier objects) is cut to the number of fields asked for, so a
10-field object of the quick mode still holds a mix of every storage type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trellis.metadata.model import MetadataSet

Document = dict[str, Any]

PATTERN = (
    "string", "enum", "integer", "currency", "date", "lookup", "boolean", "string", "percent", "datetime",
    "enum", "string", "integer", "currency", "date", "text", "enum", "lookup", "number", "string",
    "integer", "boolean", "datetime", "email", "currency", "percent", "enum", "phone", "integer", "date",
)
CHOICES = (
    ("草稿", "进行中", "已完成", "已取消"),
    ("战略", "重要", "普通"),
    ("华东", "华北", "华南", "西部", "海外"),
    ("高", "中", "低"),
)
_ZH = {"string": "文本", "text": "备注", "email": "邮箱", "phone": "电话", "enum": "状态",
       "integer": "数量", "number": "数值", "currency": "金额", "percent": "比例", "date": "日期", "datetime": "时间",
       "boolean": "是否", "lookup": "关联"}


def _label(kind: str, position: int) -> dict[str, str]:
    return {"en": f"{kind.title()} {position}", "zh-CN": f"{_ZH[kind]}{position}"}


def _nullable(json_type: str) -> list[str]:
    return [json_type, "null"]


_SCHEMAS: dict[str, Callable[[int], Document]] = {
    "string": lambda p: {"type": "string", "maxLength": 200},
    "text": lambda p: {"type": "string", "x-kind": "textarea"},
    "email": lambda p: {"type": _nullable("string"), "format": "email", "x-kind": "email"},
    "phone": lambda p: {"type": _nullable("string"), "maxLength": 40, "x-kind": "phone"},
    "enum": lambda p: {"type": "string", "enum": list(CHOICES[p % len(CHOICES)])},
    "integer": lambda p: {"type": _nullable("integer"), "minimum": 0},
    "number": lambda p: {"type": "number"},
    "currency": lambda p: {"type": _nullable("number"), "minimum": 0, "x-kind": "currency", "x-scale": 2},
    "percent": lambda p: {"type": "number", "x-kind": "percent"},
    "date": lambda p: {"type": _nullable("string"), "format": "date"},
    "datetime": lambda p: {"type": "string", "format": "date-time"},
    "boolean": lambda p: {"type": "boolean", "default": False},
}


def _lookup_target(index: int, position: int) -> int:
    """An earlier object: the previous one, or one about half-way back."""
    return index - 1 if position < 10 else index // 2


def _field(index: int, position: int, kind: str) -> tuple[str, Document]:
    if kind == "lookup" and index == 0:
        kind = "string"  # the first object has nothing earlier to point to
    if kind == "lookup":
        target = f"item_{_lookup_target(index, position):03d}"
        return f"ref_{position:02d}", {"type": _nullable("string"), "x-ref": target, "x-label": _label(kind, position)}
    schema = {**_SCHEMAS[kind](position), "x-label": _label(kind, position)}
    return f"{kind}_{position:02d}", schema


def wide_object(index: int, fields: int) -> Document:
    """Object number `index` with `fields` fields: a unique code, two indexed fields, a composite index."""
    properties = dict(_field(index, p, PATTERN[p % len(PATTERN)]) for p in range(fields))
    names = list(properties)
    document: Document = {
        "type": "object",
        "title": f"Item {index}",
        "x-label": {"en": f"Item {index}", "zh-CN": f"对象{index}"},
        "properties": properties,
        "required": names[:1],
    }
    if index % 4 == 0:
        properties[names[0]]["x-unique"] = True
    indexed = [n for n in names if n.startswith(("enum_", "date_"))][:2]
    for name in indexed:
        properties[name]["x-index"] = True
    if len(indexed) == 2:
        document["x-index"] = [indexed]
    return document


def wide_set(objects: int, fields: int) -> MetadataSet:
    """`objects` objects of `fields` fields each (the publish_100x30 set)."""
    return MetadataSet({("object", f"item_{i:03d}"): wide_object(i, fields) for i in range(objects)})


EXTRA_FIELD = "extra_note"


def with_extra_field(metadata: MetadataSet) -> MetadataSet:
    """The next release: one more plain text field on every object."""
    items: dict[tuple[str, str], Document] = {}
    for key, document in metadata.items():
        properties = {**document["properties"],
                      EXTRA_FIELD: {"type": "string", "maxLength": 500, "x-label": {"en": "Note", "zh-CN": "附注"}}}
        items[key] = {**document, "properties": properties}
    return MetadataSet(items)


# -- the 1M-row object --------------------------------------------------------------------------

STAGES = CHOICES[0][:3]

ACCOUNT: Document = {
    "type": "object",
    "x-label": {"en": "Account", "zh-CN": "客户"},
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "region": {"type": "string", "enum": list(CHOICES[2])},
    },
    "required": ["name"],
}

DEAL: Document = {
    "type": "object",
    "x-label": {"en": "Deal", "zh-CN": "商机"},
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "stage": {"type": "string", "enum": list(STAGES)},
        "amount": {"type": _nullable("number"), "minimum": 0, "x-kind": "currency"},
        "quantity": {"type": _nullable("integer"), "minimum": 0},
        "close_date": {"type": _nullable("string"), "format": "date"},
        "signed_at": {"type": _nullable("string"), "format": "date-time"},
        "won": {"type": "boolean"},
        "account": {"type": _nullable("string"), "x-ref": "account"},
    },
    "required": ["name"],
}


def deal_set(added: dict[str, Document] | None = None) -> MetadataSet:
    """`account` and the 8-field `deal`, plus fields added to `deal` by later releases."""
    deal = {**DEAL, "properties": {**DEAL["properties"], **(added or {})}}
    return MetadataSet({("object", "account"): ACCOUNT, ("object", "deal"): deal})


def plain_field() -> Document:
    return {"type": "string", "maxLength": 100}


def indexed_field() -> Document:
    return {"type": "string", "maxLength": 40, "x-index": True}


def lookup_field() -> Document:
    return {"type": _nullable("string"), "x-ref": "account"}


# -- the records runtime's contract --------------------------------------------------------------

#: Contract statuses, the most common first (the generated rows use them 40/25/15/10/10 %).
CONTRACT_STATUSES = ("生效", "已到期", "草稿", "审批中", "已终止")

CONTRACT: Document = {
    "type": "object",
    "x-label": {"en": "Contract", "zh-CN": "合同"},
    "properties": {
        "number": {"type": "string", "maxLength": 40, "x-unique": True},
        "title": {"type": "string", "maxLength": 200},
        "account": {"type": "string", "x-ref": "account"},
        "quantity": {"type": "integer", "minimum": 1},
        "unit_price": {"type": "number", "minimum": 0, "x-kind": "currency"},
        "amount": {"type": "number", "x-kind": "currency", "readOnly": True, "x-formula": "quantity * unit_price"},
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": list(CONTRACT_STATUSES)},
        "auto_renew": {"type": "boolean"},
    },
    "required": ["number", "title", "account", "status"],
    "x-index": [["status", "end_date"]],
    "x-rules": [{"name": "end_after_start", "condition": "end_date >= start_date",
                 "message": {"en": "The end date must not be before the start date.",
                             "zh-CN": "结束日期不能早于开始日期。"}}],
}


def contract_set() -> MetadataSet:
    """`account` and the 10-field `contract` of the records benchmarks."""
    return MetadataSet({("object", "account"): ACCOUNT, ("object", "contract"): CONTRACT})
