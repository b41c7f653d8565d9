"""Metric pages over the ASGI app on both databases: the list with labels and definitions, the
form saved as a draft (errors beside their fields, the version check), and the preview of the
unsaved form computed by the metrics runtime against numbers worked by hand."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.designer.conftest import Browser
from tests.designer.helpers import error_of, signed_in_admin
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.designer.metric_pages import document_of, values_of
from trellis.metadata.loader import load_folder
from trellis.metadata.model import MetadataSet
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio
PAGE = "/t/acme/metrics/renewed_value"
CONTRACT = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "amount": {"type": "number", "x-kind": "currency"},
    "end_date": {"type": "string", "format": "date"},
    "status": {"type": "string", "enum": ["active", "renewed", "lost"]}}}
METRIC: dict[str, Any] = {
    "x-label": {"en": "Value renewed", "zh-CN": "续约金额率"},
    "definition": {"en": "Amount renewed ÷ amount ended.", "zh-CN": "续约金额 ÷ 到期金额。"},
    "object": "contract", "period_field": "end_date", "default_period": "this_quarter",
    "numerator": {"function": "sum", "value": "amount", "where": "status == 'renewed'"},
    "denominator": {"function": "sum", "value": "amount", "where": "status in ['renewed', 'lost']"},
    "format": "percent"}
#: (amount, status, end date): in 2026-Q1 150 of 450 renewed (the active one is in neither), in Q2 1000 of 1000
CONTRACTS = [(100, "renewed", "2026-02-10"), (300, "lost", "2026-03-05"), (50, "renewed", "2026-03-20"),
             (1000, "renewed", "2026-05-01"), (70, "active", "2026-02-01")]
FORM = {"label_en": "Value renewed", "label_zh": "续约金额率", "definition_en": "Amount renewed ÷ amount ended.",
        "definition_zh": "续约金额 ÷ 到期金额。", "object": "contract", "period_field": "end_date",
        "default_period": "this_quarter", "format": "percent", "num_function": "sum", "num_value": "amount",
        "num_where": "status == 'renewed'", "den_function": "sum", "den_value": "amount",
        "den_where": "status in ['renewed', 'lost']", "group_by": ""}


@pytest.fixture
async def metrics(installation: Installation) -> AsyncIterator[Browser]:
    installation.create_tenant("acme", "Asia/Shanghai", "en")
    services = TenantServices(installation)
    services.store("acme").publish(MetadataSet({("object", "contract"): CONTRACT, ("metric", "renewed_value"): METRIC}),
                                   author="test")
    records = services.records("acme")
    for index, (amount, status, end) in enumerate(CONTRACTS):
        records.create(Actor.system(), "contract", {"name": f"c{index}", "amount": amount, "status": status,
                                                    "end_date": end})
    async with signed_in_admin(installation, "acme") as browser:
        yield browser


def drafted(browser: Browser) -> dict[str, Any] | None:
    found = MetadataStore(browser.installation.database("acme")).drafts().get(("metric", "renewed_value"))
    return None if found is None else dict(found)



async def preview(browser: Browser, hidden: dict[str, str], **changes: str) -> str:
    answer = await browser.client.post(f"{PAGE}/preview", data={**hidden, **FORM, **changes},
                                       headers={"HX-Request": "true"})
    assert answer.status_code == 200
    return answer.text


async def test_the_list_shows_labels_and_definitions_in_the_pages_language(metrics: Browser) -> None:
    page = await metrics.client.get("/t/acme/metrics", params={"lang": "zh-CN"})
    row = re.search(r'<tr id="metric-renewed_value">(.*?)</tr>', page.text, re.DOTALL)
    assert row and "续约金额率" in row.group(1) and "续约金额 ÷ 到期金额。" in row.group(1)
    english = await metrics.client.get("/t/acme/metrics", params={"lang": "en"})
    assert "Amount renewed ÷ amount ended." in english.text


async def test_the_preview_computes_the_unsaved_form_for_a_chosen_period(metrics: Browser) -> None:
    page, hidden = await metrics.form(PAGE)
    assert 'name="num_where" value="status == &#39;renewed&#39;"' in page
    first = await preview(metrics, hidden, period="2026-Q1")
    assert 'data-value="0.333333"' in first and "33.3%" in first and "= 150 / 450" in first
    assert "2026-01-01 … 2026-03-31" in first
    second = await preview(metrics, hidden, period="2026-Q2")
    assert 'data-value="1.000000"' in second and "100.0%" in second
    # the form as edited, unsaved: a count of renewals over the whole year
    counted = await preview(metrics, hidden, period="2026", num_function="count", num_value="", den_function="",
                            format="number")
    assert 'data-value="3"' in counted and "field-error" not in counted
    bad = await preview(metrics, hidden, period="the year of the horse")
    assert 'id="preview-problems"' in bad and "the year of the horse" in bad
    unknown = await preview(metrics, hidden, num_value="amount_x")
    assert 'id="preview-problems"' in unknown and "amount_x" in unknown
    assert drafted(metrics) is None
    lead = {"type": "object", "properties": {"name": {"type": "string"}}, "x-label": {"en": "Lead"}}
    MetadataStore(metrics.installation.database("acme")).save_draft("object", "lead", lead, "test")
    drafted_object = await preview(metrics, hidden, object="lead", period_field="", num_function="count",
                                   num_value="", num_where="", den_function="")
    assert 'id="preview-problems"' in drafted_object and "lead" in drafted_object


async def test_the_form_saves_a_draft_and_marks_errors_beside_their_fields(metrics: Browser) -> None:
    _, hidden = await metrics.form(PAGE)
    bad = await metrics.client.post(PAGE, data={**hidden, **FORM, "num_value": "amout", "group_by": "owner",
                                                "default_period": "soon", "definition_zh": "", "definition_en": ""})
    assert bad.status_code == 422
    assert error_of(bad.text, "definition_en") and error_of(bad.text, "default_period")
    assert 'value="amout"' in bad.text  # what was typed is kept
    unknown = await metrics.client.post(PAGE, data={**hidden, **FORM, "num_value": "amout", "group_by": "owner"})
    assert unknown.status_code == 422
    assert "amount" in error_of(unknown.text, "num_value") and "owner" in error_of(unknown.text, "group_by")
    assert drafted(metrics) is None
    saved = await metrics.client.post(PAGE, data={**hidden, **FORM, "label_zh": "续约金额占比", "group_by": "status",
                                                  "den_function": ""})
    assert saved.status_code == 303
    document = drafted(metrics)
    assert document is not None and document["x-label"] == {"en": "Value renewed", "zh-CN": "续约金额占比"}
    assert document["group_by"] == ["status"] and "denominator" not in document
    stale = await metrics.client.post(PAGE, data={**hidden, **FORM, "label_zh": "另一个"})
    assert stale.status_code == 409 and 'value="另一个"' in stale.text
    assert drafted(metrics) == document


def test_the_form_gives_back_each_shipped_metric_unchanged() -> None:
    for name, document in load_folder(APP_FOLDER).documents("metric").items():
        rebuilt, problems = document_of(values_of(document), document)
        assert problems == [] and rebuilt == document, name


async def test_a_new_metric_starts_as_a_count_and_opens_with_its_preview(metrics: Browser) -> None:
    _, hidden = await metrics.form("/t/acme/new-metric")
    bad = await metrics.client.post("/t/acme/new-metric", data={
        "csrf": hidden["csrf"], "name": "Bad Name", "object": "", "label_zh": "合同数"})
    assert bad.status_code == 422 and 'value="Bad Name"' in bad.text
    for field in ("name", "object", "definition_en"):
        assert error_of(bad.text, field)
    taken = await metrics.client.post("/t/acme/new-metric", data={
        "csrf": hidden["csrf"], "name": "renewed_value", "object": "contract", "label_zh": "合同数",
        "definition_zh": "合同数量。"})
    assert taken.status_code == 422 and "renewed_value" in error_of(taken.text, "name")
    made = await metrics.client.post("/t/acme/new-metric", data={
        "csrf": hidden["csrf"], "name": "contracts", "object": "contract", "label_zh": "合同数",
        "definition_zh": "合同数量。"})
    assert made.status_code == 303, made.text
    document = MetadataStore(metrics.installation.database("acme")).drafts()[("metric", "contracts")]
    assert document == {"x-label": {"zh-CN": "合同数"}, "definition": {"zh-CN": "合同数量。"}, "object": "contract",
                        "format": "number", "numerator": {"function": "count"}}
    page, hidden = await metrics.form(made.headers["location"])
    answer = await metrics.client.post("/t/acme/metrics/contracts/preview", data={
        **hidden, "label_zh": "合同数", "definition_zh": "合同数量。", "object": "contract", "format": "number",
        "num_function": "count", "period": "all"}, headers={"HX-Request": "true"})
    assert 'data-value="5"' in answer.text  # the five contracts, with no period field: all of them
