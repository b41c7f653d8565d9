"""Metadata validation's errors carry a stable code and their values, so the designer words them
in the page's language: every code the checks make has English and Chinese in the catalogue, the
English is the sentence the CLI prints, and a Chinese page shows Chinese (over HTTP, both databases)."""

from __future__ import annotations

import copy
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.designer.conftest import Browser
from tests.runtime.graphql.conftest import TENANT, crm_set
from tests.runtime.scores.test_score_model_checks import METRIC, METRIC_CASES, MODEL_CASES, changed, errors
from tests.runtime.scores.world import MODEL
from trellis.designer.i18n import CATALOGUE, Translator
from trellis.designer.messages import catalogue_key, say
from trellis.metadata.errors import MetadataError, MetadataInvalid
from trellis.metadata.model import MetadataSet
from trellis.metadata.validation import validate_set
from trellis.runtime.releases import MetadataStore

METADATA = Path(__file__).parents[2] / "trellis" / "metadata"
#: JSON Schema keywords whose refusals the object, field, rule and role forms meet (coded schema.<keyword>)
SCHEMA_CODES = ("type", "enum", "const", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems",
                "maxItems", "minProperties", "uniqueItems")
CJK = re.compile(r"[\u4e00-\u9fff]")
EN, ZH = Translator("en"), Translator("zh-CN")


def _formula(source: str) -> dict[str, Any]:
    return {"type": "number", "readOnly": True, "x-formula": source}


def broken_set() -> MetadataSet:
    """The CRM with a mistake of each kind an admin makes on the object, field, rule and role pages."""
    items = dict(crm_set().items())
    contract = copy.deepcopy(dict(items[("object", "contract")]))
    contract["properties"].update({
        "total": _formula("amout * 2"), "tier2": _formula("account.tierr"), "half": _formula("amount +"),
        "summed": _formula("sumx(amount)"), "c1": _formula("c2"), "c2": _formula("c1"), "n2": _formula("zzz"),
        "Bad": {"type": "string"}, "select": {"type": "string"}, "created_at": {"type": "string"},
        "pick": {"type": "string", "enum": []}, "lbl": {"type": "string", "x-label": 5},
        "kind": {"type": "string", "x-kindd": "currency"}, "st": {"type": "string", "x-kind": "money"},
        "nb": {"type": "number", "x-unknown": 1}, "big": {"type": 5}, "ix": {"type": "string", "x-index": "yes"},
        "status2": {"type": "string", "enum": ["a", "a"]}, "date_": {"type": "string"}, "a__b": {"type": "string"},
        "today": {"type": "string"}, "lambda": {"type": "string"},
    })
    contract["x-rules"] = [{"name": "r", "condition": "amount > 0"}]
    items[("object", "contract")] = contract
    items[("object", "Contract2")] = {"type": "object", "properties": {}}
    items[("object", "ticket2")] = {"type": "object", "properties": {}}
    items[("object", "TICKET2")] = {"type": "object", "properties": {}}
    items[("role", "rep")] = {"objects": {"contract": {"read": "own", "update": "all", "fields": {"amont": "none",
                                                                                               "zzzz": "read"}},
                                          "ticket": {"read": "everything"}}}
    return MetadataSet(items)


def _codes_in_source() -> set[str]:
    """Every code a metadata check writes out literally."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in METADATA.glob("*.py"))
    return set(re.findall(r'"((?:meta|name|expr|role|rename|score|metric)\.[a-z_]+)"', text))


def test_every_code_the_checks_make_has_both_languages_in_the_catalogue() -> None:
    codes = _codes_in_source() | {f"schema.{k}" for k in SCHEMA_CODES}
    assert len(codes) > 30 and "expr.unknown_field_close" in codes and "name.case_twin" in codes
    for code in sorted(codes):
        texts = CATALOGUE.get(catalogue_key(code))
        assert texts is not None, f"{code} has no words in the designer's catalogue"
        assert texts["en"] and CJK.search(texts["zh-CN"]), code


def test_each_error_a_designer_user_meets_is_coded_worded_alike_in_english_and_in_chinese() -> None:
    errors = validate_set(broken_set())
    met = {e.code for e in errors}
    for wanted in ("meta.required", "meta.unknown_keyword_close", "meta.unknown_keyword", "meta.described",
                   "schema.type", "schema.enum", "schema.minItems", "schema.uniqueItems", "name.invalid",
                   "name.sql_reserved", "name.standard_column", "name.trailing_underscore", "name.double_underscore",
                   "name.function", "name.python_reserved", "name.case_twin", "expr.unknown_field_close",
                   "expr.unknown_field", "expr.unknown_field_on_close", "expr.at_column", "expr.cycle",
                   "role.wider_than_read", "role.not_a_field_close", "role.not_a_field"):
        assert wanted in met, (wanted, sorted(c for c in met if c))
    for error in errors:
        if error.code is None or catalogue_key(error.code) not in CATALOGUE:
            continue
        assert say(EN, error.message) == error.message, error  # the catalogue's English is the CLI's sentence
        chinese = say(ZH, error.message)
        assert chinese != error.message and CJK.search(chinese), error
    typo = next(e for e in errors if e.code == "expr.unknown_field_close")
    assert say(ZH, typo.message) == "未知字段 'amout'；是不是要写 'amount'？"
    scope = next(e for e in errors if e.code == "role.wider_than_read")
    assert "编辑范围“全部记录”超出了查看范围“本人记录”" in say(ZH, scope.message)
    syntax = next(e for e in errors if e.path == "$.properties.half.x-formula")
    assert say(ZH, syntax.message).startswith("语法错误：") and "（第 9 列）" in say(ZH, syntax.message)


def _worded_alike(messages: list[str], kind: str) -> dict[str, str]:
    """Every `<kind>.` code the checks write met among `messages`, each worded in the catalogue as the CLI
    words it and in Chinese; one message of each code, by code."""
    met = {code: m for m in messages if (code := MetadataError("", "", m).code) and code.startswith(f"{kind}.")}
    assert set(met) == {c for c in _codes_in_source() if c.startswith(f"{kind}.")}, sorted(met)
    for message in messages:
        if MetadataError("", "", message).code in met:
            assert say(EN, message) == message and CJK.search(say(ZH, message)), message
    return met


def test_a_score_models_errors_are_coded_worded_alike_in_english_and_in_chinese() -> None:
    def twice(m: dict[str, Any]) -> None:  # a factor's name and a band's value repeated
        m["factors"][1]["name"] = m["factors"][0]["name"]
        m["bands"][2]["value"] = m["bands"][0]["value"]

    def upside_down(m: dict[str, Any]) -> None:
        m["bands"][1].update(min=m["bands"][1]["max"] + 1)

    changes = [change for _, change, _, _ in MODEL_CASES] + [twice, upside_down]
    met = _worded_alike([m for change in changes for _, _, m in errors(model=changed(MODEL, change))], "score")
    assert say(ZH, met["score.steps_order"]).startswith("分档的 min 值必须严格递减"), met["score.steps_order"]


def test_a_metrics_errors_are_coded_worded_alike_in_english_and_in_chinese() -> None:
    changes: list[Callable[[dict[str, Any]], Any]] = [change for _, change, _, _ in METRIC_CASES] + [
        lambda m: m["numerator"].update(function="sum"), lambda m: m.update(period_field="opend"),
        lambda m: m.update(period_field="zzzz")]
    met = _worded_alike([m for change in changes for _, _, m in errors(metric=changed(METRIC, change))], "metric")
    assert say(ZH, met["metric.needs_number"]) == "sum 需要数字；'priority' 是单选列表字段。"


def test_the_cli_still_prints_the_english_sentences_and_an_uncoded_one_falls_back_to_them() -> None:
    invalid = MetadataInvalid(validate_set(broken_set()))
    assert "'amout'; did you mean 'amount'?" in invalid.render() and not CJK.search(invalid.render())
    first = invalid.errors[0]
    for copied in (copy.deepcopy(first), pickle.loads(pickle.dumps(first))):
        assert copied == first and copied.code == first.code and say(ZH, copied.message) == say(ZH, first.message)
    plain = MetadataError("objects/a.json", "$", "something only English words")
    assert plain.code is None and say(ZH, plain.message) == "something only English words"


@pytest.mark.anyio
async def test_a_chinese_page_shows_the_validation_message_in_chinese_and_an_english_one_in_english(
        browser: Browser) -> None:
    await browser.sign_in()
    field = f"/t/{TENANT}/objects/contract/new-field"
    for lang, wanted in (("zh-CN", "未知字段 'amout'；是不是要写 'amount'？"),
                         ("en", "unknown field 'amout'; did you mean 'amount'?")):
        refused = await browser.submit(f"{field}?lang={lang}", {
            "name": "total", "kind": "formula", "result": "number", "formula": "amout * 2", "label_en": "Total"},
            page=f"{field}?lang={lang}")
        assert refused.status_code == 422
        assert re.search(r'data-field="formula">' + re.escape(wanted.replace("'", "&#39;")), refused.text), lang
        checked = await browser.client.post(f"/t/{TENANT}/objects/contract/check-formula?lang={lang}", data={
            "formula": "amout * 2", "name": "total"}, headers={"X-CSRF-Token": re.findall(
                r'name="csrf" value="([^"]+)"', refused.text)[0]})
        assert wanted.replace("'", "&#39;") in checked.text
    role, hidden = await browser.form(f"/t/{TENANT}/roles/rep?lang=zh-CN")
    wide = await browser.client.post(f"/t/{TENANT}/roles/rep", data={
        **hidden, "read.contract": "own", "update.contract": "all"})
    assert wide.status_code == 422 and re.search(r'data-field="update.contract">编辑范围“全部记录”', wide.text)
    # a draft saved elsewhere (the CLI, the API) that does not validate: the publish page says why, in Chinese
    store = MetadataStore(browser.installation.database(TENANT))
    contract = copy.deepcopy(dict(store.draft_set().documents("object")["contract"]))
    contract["properties"]["total"] = _formula("amout * 2")
    store.save_draft("object", "contract", contract, "cli")
    publish = await browser.client.get(f"/t/{TENANT}/publish?lang=zh-CN")
    assert "未知字段 &#39;amout&#39;；是不是要写 &#39;amount&#39;？" in publish.text
    overview = await browser.client.get(f"/t/{TENANT}/objects/contract?lang=zh-CN")
    assert "未知字段 &#39;amout&#39;" in overview.text
