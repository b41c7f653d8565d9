"""The metadata validation's sentences in the page's language.

A check words its error in English where it finds it and marks it with a stable code and the
values it names (`trellis.metadata.errors.Coded`); the CLI prints the sentence as it is. Here a
coded sentence is worded again from the catalogue (`meta.<code>` in i18n.py, English and
Chinese), its values filled in — a value that is itself coded (the error inside "… (at column 4)")
worded the same way, and on a Chinese page the few values that are words of the platform (a
type, a scope, the kind of name) put in Chinese. A sentence without a code, or with one the
catalogue has no words for, is shown as the check wrote it, in English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from trellis.designer.i18n import CATALOGUE, Translator
from trellis.metadata.errors import Coded

_WORDS_ZH = {
    # JSON types
    "string": "文本", "integer": "整数", "number": "数字", "boolean": "布尔值", "object": "对象", "array": "列表",
    "null": "空值",
    # what a name names
    "field": "字段", "role": "角色", "workflow rule": "工作流规则", "metric": "指标",
    "approval process": "审批流程", "score model": "评分模型",
    # record scopes and the actions that take one
    "none": "无", "own": "本人记录", "all": "全部记录", "read": "查看", "update": "编辑", "delete": "删除",
    # field types as the designer's field kinds name them
    "text": "长文本", "currency": "货币", "percent": "百分比", "date": "日期", "date-time": "日期时间", "email": "邮箱",
    "phone": "电话", "url": "网址", "enum": "单选列表", "multi-enum": "多选列表", "lookup": "查找关联",
    # the order a score model's threshold steps must run in
    "falling": "递减", "rising": "递增",
}


def _word(value: str) -> str:
    return _WORDS_ZH.get(value, value)


#: what the meta-schemas' descriptions that the designer's forms meet say, in Chinese
_DESCRIPTIONS_ZH = {
    "a text, or translations as {locale: text}": "文本，或各语言的译文 {语言: 文本}",
    "a locale code such as en or zh-CN": "语言代码，如 en 或 zh-CN",
    "a snake_case name (a lowercase letter, then lowercase letters, digits or _)":
        "snake_case 名称（小写字母开头，后接小写字母、数字或 _）",
    "which records: none, own (those the user owns) or all": "记录范围：none（无）、own（本人负责的）或 all（全部）",
}

#: what Python's parser says of the expressions admins most often leave unfinished, in Chinese
_SYNTAX_ZH = {
    "invalid syntax": "表达式不完整或有误",
    "unterminated string literal (detected at line 1)": "文本缺少结束引号",
    **{f"'{bracket}' was never closed": f"'{bracket}' 没有闭合" for bracket in "([{"},
}

#: the params whose values are words of the platform, and how a Chinese page words them
_ZH_PARAMS: Mapping[str, Callable[[str], str]] = {
    "types": lambda v: "或".join(_word(t) for t in v.split()), "what": _word, "action": _word, "scope": _word,
    "read": _word, "order": _word, "type": _word, "description": lambda v: _DESCRIPTIONS_ZH.get(v, v),
    "detail": lambda v: _SYNTAX_ZH.get(v, v),
}


def catalogue_key(code: str) -> str:
    return f"meta.{code}"


def say(t: Translator, message: str) -> str:
    """`message` in the page's language when its code has words in the catalogue, else as written."""
    if not isinstance(message, Coded) or catalogue_key(message.code) not in CATALOGUE:
        return str(message)
    values: dict[str, object] = {}
    for name, value in message.params.items():
        if isinstance(value, Coded):
            value = say(t, value)
        elif t.language == "zh-CN" and name in _ZH_PARAMS and isinstance(value, str):
            value = _ZH_PARAMS[name](value)
        values[name] = value
    return CATALOGUE[catalogue_key(message.code)][t.language].format(**values)
