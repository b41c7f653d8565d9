"""The approval process pages over the renewals app's quote_discount process and its sales team:
the list, a new process, editing steps (approvers of every kind, mode, escalation, reordering),
errors beside their fields, the version check, the flow picture as SVG and the simulator."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.designer import test_assets
from tests.designer.conftest import PASSWORD, Browser
from tests.renewals.world import TENANT, Renewals
from trellis.designer.approval_pages import labels
from trellis.designer.flow_svg import flow_svg
from trellis.designer.i18n import LANGUAGES, Translator
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore
from trellis.server.app import create_app

pytestmark = pytest.mark.anyio
ADMIN = "admin@acme.test"
PROCESS = f"/t/{TENANT}/approvals/quote_discount"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def world(installation: Installation) -> Renewals:
    world = Renewals.create(installation)
    world.services.users(TENANT).set_password(ADMIN, PASSWORD)
    return world


@pytest.fixture
async def designer(world: Renewals) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=create_app(world.installation, world.services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        browser = Browser(world.installation, client)
        signed = await browser.sign_in(ADMIN)
        assert signed.status_code == 303, signed.text
        yield browser


def quote(world: Renewals, name: str, discount: str, price: str = "10000.00", quantity: int = 1) -> str:
    product = world.product(f"P-{name}", price)
    return world.quote([{"product": product, "quantity": quantity, "list_price": price, "uplift_pct": "0",
                         "discount_pct": discount}], name=name)


def drafted(browser: Browser, name: str = "quote_discount") -> Any:
    return MetadataStore(browser.installation.database(TENANT)).drafts().get(("approval_process", name))


def form_fields(html: str) -> dict[str, str]:
    """What a browser would post for the edit form: inputs (checked boxes), selects' chosen
    options and textareas, as the page shows them."""
    form = re.search(r'<form method="post" class="card" id="approval-form".*?</form>', html, re.DOTALL)
    assert form, html[:3000]
    body = form.group(0)
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None:
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                fields[name.group(1)] = "on"
        else:
            fields[name.group(1)] = value.group(1) if value else ""
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', body, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[name] = chosen.group(1) if chosen else (re.findall(r'<option value="([^"]*)"', options) or [""])[0]
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.DOTALL):
        fields[name] = text
    return {k: v.replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
            .replace("&#34;", '"').replace("&quot;", '"') for k, v in fields.items()}


async def edit(browser: Browser, path: str = PROCESS, **changes: str) -> tuple[httpx.Response, dict[str, str]]:
    page = await browser.client.get(path)
    assert page.status_code == 200, page.text[:2000]
    fields = form_fields(page.text)
    fields.update(changes)
    return await browser.client.post(path, data={k: v for k, v in fields.items() if v is not None}), fields


def svg_of(html: str) -> ET.Element:
    found = re.search(r'<div id="flow">(.*?)</div>', html, re.DOTALL)
    assert found, html[:3000]
    return ET.fromstring(found.group(1))


def steps_in(svg: ET.Element) -> list[str]:
    return [g.get("data-step", "") for g in svg.iter(f"{SVG}g") if g.get("class") == "step"]


def texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]


async def test_the_list_shows_each_process_with_its_object_entry_steps_and_state(designer: Browser) -> None:
    page = await designer.client.get(f"/t/{TENANT}/approvals?lang=en")
    assert page.status_code == 200
    row = re.search(r'<tr data-process="quote_discount">(.*?)</tr>', page.text, re.DOTALL)
    assert row is not None
    assert "Quote discount approval" in row.group(1) and "<code>quote</code>" in row.group(1)
    assert "max_discount_pct &gt; 10 or total &gt; 1000000" in row.group(1)
    assert re.search(r'class="steps">3<', row.group(1)) and "published" in row.group(1)
    assert f'href="/t/{TENANT}/approvals"' in page.text  # the frame's nav link
    chinese = await designer.client.get(f"/t/{TENANT}/approvals?lang=zh-CN")
    assert "报价折扣审批" in chinese.text and "已发布" in chinese.text


async def test_a_new_process_starts_as_a_draft_with_one_manager_step(designer: Browser) -> None:
    _, hidden = await designer.form(f"/t/{TENANT}/new-approval")
    bad = await designer.client.post(f"/t/{TENANT}/new-approval", data={
        "csrf": hidden["csrf"], "name": "Big Deals", "object": "", "label_zh": "大单审批"})
    assert bad.status_code == 422
    assert 'data-field="name"' in bad.text and 'data-field="object"' in bad.text and 'value="大单审批"' in bad.text
    taken = await designer.client.post(f"/t/{TENANT}/new-approval", data={
        "csrf": hidden["csrf"], "name": "quote_discount", "object": "quote"})
    assert taken.status_code == 422 and "quote_discount" in taken.text
    made = await designer.client.post(f"/t/{TENANT}/new-approval", data={
        "csrf": hidden["csrf"], "name": "big_deals", "object": "contract", "label_zh": "大单审批"})
    assert made.status_code == 303, made.text
    assert drafted(designer, "big_deals") == {"object": "contract", "x-label": {"zh-CN": "大单审批"}, "steps": [
        {"name": "manager", "label": {"en": "Manager", "zh-CN": "直属上级"}, "approvers": [{"manager": 1}]}]}
    opened = await designer.client.get(made.headers["location"])
    assert opened.status_code == 200 and steps_in(svg_of(opened.text)) == ["manager"]
    listed = await designer.client.get(f"/t/{TENANT}/approvals?lang=en")
    assert re.search(r'data-process="big_deals">.*?new draft', listed.text, re.DOTALL)


async def test_editing_steps_saves_a_draft_with_every_kind_of_approver(designer: Browser) -> None:
    saved, _ = await edit(
        designer, entry_condition="max_discount_pct > 5 or total > 1000000",
        s1_a0_kind="role", s1_a0_value="sales_director", s1_a1_kind="user", s1_a1_value="fin1@acme.test",
        s1_mode="at_least", s1_at_least="1", s1_esc_action="reassign", s1_esc_hours="48", s1_esc_to_kind="role",
        s1_esc_to_value="finance", s2_a1_kind="user_field", s2_a1_value="owner_id", s2_a2_kind="expression",
        s2_a2_value="'fin2@acme.test'", s2_approvers="3", s0_label_zh="直属上级审批", description="",
        on_rejected_set="status = '已驳回'\napproved_on = today()", on_rejected_notify_channel="in_app",
        on_rejected_notify_to_kind="user_field", on_rejected_notify_to_value="owner_id",
        on_rejected_notify_subject="{{ record.name }} 被驳回", on_rejected_notify_body="请查看审批意见。")
    assert saved.status_code == 303, saved.text[:3000]
    document = drafted(designer)
    assert document["entry_condition"] == "max_discount_pct > 5 or total > 1000000"
    director = document["steps"][1]
    assert director["approvers"] == [{"role": "sales_director"}, {"user": "fin1@acme.test"}]
    assert director["mode"] == {"at_least": 1}
    assert director["escalation"] == {"after_hours": 48, "action": "reassign", "to": {"role": "finance"}}
    assert document["steps"][2]["approvers"] == [{"role": "finance"}, {"user_field": "owner_id"},
                                                 {"expression": "'fin2@acme.test'"}]
    assert document["steps"][0]["label"] == {"en": "Manager", "zh-CN": "直属上级审批"}
    assert document["on_rejected"] == [
        {"type": "set_fields", "values": {"status": "'已驳回'", "approved_on": "today()"}},
        {"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}], "subject": "{{ record.name }} 被驳回",
         "body": "请查看审批意见。"}]
    assert document["on_approved"] == [{"type": "set_fields", "values": {"status": "'已批准'", "approved_on": "today()"}}]
    assert document["lock"] == "record" and "notify" not in document  # left as they were
    assert "description" not in document  # emptied
    page = await designer.client.get(PROCESS + "?lang=en")
    assert 'value="sales_director"' in page.text and 'value="48"' in page.text
    listed = await designer.client.get(f"/t/{TENANT}/approvals")
    assert re.search(r'data-process="quote_discount">.*?class="state">draft \(changed\)<', listed.text, re.DOTALL)


async def test_steps_are_added_moved_and_removed_without_saving_until_save(designer: Browser) -> None:
    page = await designer.client.get(PROCESS)
    fields = form_fields(page.text)
    fields["s0_label_en"] = "Line manager"  # typed, not saved yet
    added = await designer.client.post(PROCESS, data={**fields, "op": "add_step"})
    assert added.status_code == 200 and drafted(designer) is None
    fields = form_fields(added.text)
    assert fields["steps"] == "4" and fields["s3_name"] == "step_4" and fields["s0_label_en"] == "Line manager"
    fields.update(s3_name="legal", s3_a0_kind="role", s3_a0_value="finance", s3_label_zh="法务")
    moved = await designer.client.post(PROCESS, data={**fields, "op": "up:3"})
    fields = form_fields(moved.text)
    assert [fields[f"s{i}_name"] for i in range(4)] == ["manager", "sales_director", "legal", "finance"]
    assert steps_in(svg_of(moved.text)) == ["manager", "sales_director", "legal", "finance"]  # the picture follows
    removed = await designer.client.post(PROCESS, data={**fields, "op": "remove:0"})
    fields = form_fields(removed.text)
    assert fields["steps"] == "3" and drafted(designer) is None
    saved = await designer.client.post(PROCESS, data={**fields, "op": "save"})
    assert saved.status_code == 303, saved.text[:3000]
    document = drafted(designer)
    assert [s["name"] for s in document["steps"]] == ["sales_director", "legal", "finance"]
    assert document["steps"][1] == {"name": "legal", "label": {"zh-CN": "法务"}, "approvers": [{"role": "finance"}]}
    unknown = await designer.client.post(PROCESS, data={**form_fields((await designer.client.get(PROCESS)).text),
                                                         "op": "remove:9"})
    assert unknown.status_code == 404


async def test_bad_input_is_marked_beside_its_field_in_the_pages_language_and_nothing_is_saved(
        designer: Browser) -> None:
    response, _ = await edit(
        designer, PROCESS + "?lang=zh-CN", s0_name="Bad Name", s1_mode="at_least", s1_at_least="zero",
        s1_esc_action="notify", s1_esc_hours="soon", s2_a0_kind="manager", s2_a0_value="3",
        s2_a1_kind="", s2_a1_value="someone", on_approved_set="status '已批准'", notify_in_app="")
    assert response.status_code == 422
    for field, message in (("s0_name", "请使用小写字母"), ("s1_at_least", "不小于 1 的整数"),
                           ("s1_esc_hours", "不小于 1 的整数"), ("s2_a0_value", "1（直属上级）"),
                           ("s2_a1_value", "请选择审批人类型"), ("on_approved_set", "第 1 行"),
                           ("notify", "至少勾选一种")):
        found = re.search(rf'data-field="{field}">([^<]*)<', response.text)
        assert found and message in found.group(1), (field, found and found.group(1))
    assert 'value="Bad Name"' in response.text and 'value="someone"' in response.text  # what was typed is kept
    assert drafted(designer) is None
    # a message without a body, and one whose template does not parse
    unsent, _ = await edit(designer, PROCESS + "?lang=en", on_approved_notify_channel="email",
                           on_approved_notify_to_value="")
    assert unsent.status_code == 422
    assert 'data-field="on_approved_notify_to_value"' in unsent.text and 'data-field="on_approved_notify_body"' in \
        unsent.text
    broken, _ = await edit(designer, PROCESS + "?lang=en", on_approved_notify_channel="email",
                           on_approved_notify_body="{{ record.name ", on_approved_notify_to_kind="role",
                           on_approved_notify_to_value="finance")
    assert broken.status_code == 422 and 'data-field="on_approved_notify_body"' in broken.text
    assert drafted(designer) is None
    # problems only the metadata validation sees are pinned too: an unknown role, a bad expression
    checked, _ = await edit(designer, PROCESS + "?lang=en", s1_a0_value="no_such_role", s2_condition="total >")
    assert checked.status_code == 422
    role = re.search(r'data-field="s1_a0_value">([^<]*)<', checked.text)
    assert role and "&#39;no_such_role&#39; is not a role" in role.group(1)
    assert re.search(r'data-field="s2_condition">', checked.text)
    unassigned, _ = await edit(designer, PROCESS + "?lang=en", s0_esc_action="reassign", s0_esc_hours="8")
    whom = re.search(r'data-field="s0_esc_to_value">([^<]*)<', unassigned.text)  # reassign needs someone
    assert unassigned.status_code == 422 and whom and "needs &#34;to&#34;" in whom.group(1)
    assert drafted(designer) is None


async def test_a_draft_another_admin_changed_meanwhile_is_not_overwritten(designer: Browser, world: Renewals) -> None:
    page = await designer.client.get(PROCESS)
    fields = form_fields(page.text)
    store = MetadataStore(world.installation.database(TENANT))
    other = dict(store.draft_set().documents("approval_process")["quote_discount"])
    other["entry_condition"] = "total > 500000"
    store.save_draft("approval_process", "quote_discount", other, "someone@acme.test",
                     expected=fields["version"])
    fields["s0_label_en"] = "Mine"
    conflict = await designer.client.post(PROCESS, data={**fields, "op": "save"})
    assert conflict.status_code == 409 and 'value="Mine"' in conflict.text
    assert drafted(designer)["entry_condition"] == "total > 500000"


async def test_the_flow_picture_is_well_formed_svg_with_every_step_and_escaped_text(designer: Browser) -> None:
    saved, _ = await edit(designer, PROCESS + "?lang=en", s0_label_en="Manager <&> \"boss\"",
                          s2_condition="total > 1000000 and max_discount_pct < 50")
    assert saved.status_code == 303, saved.text[:2000]
    page = await designer.client.get(PROCESS + "?lang=en")
    svg = svg_of(page.text)
    assert svg.tag == f"{SVG}svg" and steps_in(svg) == ["manager", "sales_director", "finance"]
    shown = texts(svg)
    assert '1. Manager <&> "boss"' in shown  # escaped in the markup, the same text once parsed
    assert "if total > 1000000 and max_discount_pct < 50" in shown and "if max_discount_pct > 10 or total > 1000000" \
        in shown
    assert "role finance" in shown and "all approvers" in shown and "Approved" in shown and "Rejected" in shown
    assert "status = '已批准'" in shown
    assert "<script" not in page.text.split('<div id="flow">')[1].split("</div>")[0]
    alone = await designer.client.get(PROCESS + "/flow?lang=zh-CN")
    assert alone.headers["content-type"].startswith("image/svg+xml")
    chinese = ET.fromstring(alone.text)
    assert "1. 直属上级" in texts(chinese) and "已同意" in texts(chinese)  # the Chinese label, in Chinese
    # htmx posts the form as it stands: the picture changes before anything is saved
    fields = form_fields(page.text)
    fields.update(s1_label_en="VP of sales", s1_a0_value="finance")
    live = await designer.client.post(PROCESS + "/flow?lang=en", data=fields)
    assert live.status_code == 200
    assert "2. VP of sales" in texts(ET.fromstring(live.text)) and drafted(designer)["steps"][1]["label"]["en"] == \
        "Sales director"


async def test_the_simulator_names_who_would_approve_a_record_by_the_draft(designer: Browser, world: Renewals) -> None:
    big = quote(world, "大额报价", "25")
    small = quote(world, "小额报价", "12")
    page = await designer.client.get(PROCESS + "?lang=en&find=大额")
    options = re.findall(r'<option value="([0-9a-f-]{36})"[^>]*>([^<]+)</option>', page.text)
    assert options == [(big, "大额报价")]
    ran = await designer.client.get(PROCESS, params={"lang": "en", "record": big})
    assert ran.status_code == 200
    steps = dict(re.findall(r'<tr class="sim-step[^"]*" data-step="(\w+)" data-runs="(\w+)"', ran.text))
    assert steps == {"manager": "true", "sales_director": "true", "finance": "false"}
    simulation = ran.text.split('id="simulation"')[1]
    assert "王经理" in simulation and "赵总监" in simulation  # approvers by name: the rep's manager, the director
    path = re.search(r'id="outcome-path">(.*?)</p>', ran.text, re.DOTALL)
    assert path and re.sub(r"<[^>]+>", "", path.group(1)).split(" → ") == [
        "Submitted", "1. Manager", "2. Sales director", "Approved"]
    assert [g.get("data-runs") for g in svg_of(ran.text).iter(f"{SVG}g") if g.get("class") == "step"] == \
        ["true", "true", "false"]
    # the simulator runs the saved draft: finance now also for this quote, all of them
    saved, _ = await edit(designer, s2_condition="total > 1000")
    assert saved.status_code == 303, saved.text[:2000]
    again = await designer.client.get(PROCESS, params={"lang": "en", "record": small})
    steps = dict(re.findall(r'<tr class="sim-step[^"]*" data-step="(\w+)" data-runs="(\w+)"', again.text))
    assert steps == {"manager": "true", "sales_director": "false", "finance": "true"}
    finance = again.text.split('<tr class="sim-step " data-step="finance"')[1].split("</tr>")[0]
    assert "钱财务" in finance and "孙财务" in finance and "2 of 2 needed" in finance
    # submitted by the finance member: self-approval is forbidden, so only the other one is asked
    fin = await designer.client.get(PROCESS, params={"lang": "en", "record": small, "submitter": "fin1@acme.test"})
    finance = fin.text.split('<tr class="sim-step " data-step="finance"')[1].split("</tr>")[0]
    assert "孙财务" in finance and "钱财务" not in finance
    by_id = await designer.client.get(PROCESS, params={"lang": "en", "find": small})  # an id pasted in the search
    assert 'id="simulation"' in by_id.text and "小额报价" in by_id.text.split('id="simulation"')[1]
    missing = await designer.client.get(PROCESS, params={"lang": "en", "record": "0" * 8 + "-0000-0000-0000-" + "0" * 12})
    assert missing.status_code == 200 and 'id="simulation-problems"' in missing.text


def test_every_choice_and_every_word_of_the_picture_exists_in_both_languages() -> None:
    document = {"object": "quote", "x-label": {"en": "All <kinds>"}, "entry_condition": "total > 1", "steps": [
        {"name": f"s_{action}", "approvers": [{"manager": 2}, {"role": "finance"}, {"user": "a@b.c"},
                                              {"user_field": "owner_id"}, {"expression": "'x' & 'y'"}],
         "mode": mode, "condition": "total > 2", "reminder_hours": 3,
         "escalation": {"after_hours": 4, "action": action, **({"to": {"role": "finance"}} if action in (
             "notify", "reassign") else {})}}
        for action, mode in (("notify", "any"), ("reassign", "all"), ("approve", {"at_least": 2}), ("reject", "any"))],
        "on_approved": [{"type": "set_fields", "values": {"status": "'ok'"}}, {"type": "notify", "channel": "in_app"}]}
    for language in LANGUAGES:
        t = Translator(language).t
        words = labels(t)
        assert all(all(group.values()) for group in words.values())
        svg = ET.fromstring(flow_svg(document, t, language, {"s_approve": False}))
        assert steps_in(svg) == ["s_notify", "s_reassign", "s_approve", "s_reject"]
        assert svg.find(f"{SVG}title") is not None and svg.findtext(f"{SVG}title") == "All <kinds>"
        assert any("'x' & 'y'" in text for text in texts(svg)) and "+ notify" in texts(svg)


async def test_no_approval_page_names_another_site(designer: Browser, world: Renewals) -> None:
    record = quote(world, "报价甲", "15")
    for path in (f"/t/{TENANT}/approvals", f"/t/{TENANT}/new-approval", PROCESS, f"{PROCESS}?record={record}",
                 f"{PROCESS}/flow"):
        page = await designer.client.get(path)
        assert page.status_code == 200 and not test_assets.EXTERNAL.search(page.text), path
        assert "<script>" not in page.text and not re.search(r"\son[a-z]+=", page.text), path


async def test_forged_counts_kinds_and_buttons_are_refused_without_harm(designer: Browser) -> None:
    page = await designer.client.get(PROCESS)
    fields = form_fields(page.text)
    many = await designer.client.post(PROCESS, data={**fields, "steps": "999999", "op": "save"})
    assert many.status_code == 422 and len(re.findall(r'<fieldset class="step"', many.text)) == 20
    bogus = await designer.client.post(PROCESS, data={**fields, "s0_a0_kind": "boss", "op": "save"})
    assert bogus.status_code == 422 and 'data-field="s0_a0_value"' in bogus.text
    for op in ("up:x", "remove:-1", "remove_approver:0:99", "explode"):
        refused = await designer.client.post(PROCESS, data={**fields, "op": op})
        assert refused.status_code == 404, op
    assert (await designer.client.get(f"/t/{TENANT}/approvals/no_such")).status_code == 404
    assert (await designer.client.post(f"/t/{TENANT}/approvals/no_such/flow", data=fields)).status_code == 404
    assert drafted(designer) is None
