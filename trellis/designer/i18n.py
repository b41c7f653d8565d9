"""Every string the designer's pages show, in English and Simplified Chinese, in one catalogue.

Templates and views ask `Translator.t(key, **values)`; a key missing from the catalogue is a
bug that `tests/designer/test_i18n.py` finds (every key has both languages, and every key the
templates use exists). The page's language is the visitor's choice (`?lang=`, kept in a cookie),
else the tenant's locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

LANGUAGES = ("zh-CN", "en")

_CATALOGUE: dict[str, tuple[str, str]] = {
    # key: (English, 简体中文)
    "app.name": ("Trellis designer", "Trellis 设计器"),
    "lang.switch": ("中文", "English"),
    "nav.objects": ("Objects", "对象"),
    "nav.rules": ("Workflow rules", "工作流规则"),
    "nav.publish": ("Publish", "发布"),
    "nav.history": ("History", "发布历史"),
    "nav.graphql": ("GraphQL", "GraphQL"),
    "nav.signout": ("Sign out", "退出登录"),
    "landing.title": ("Trellis", "Trellis"),
    "landing.body": ("Sign in at your organisation's address, /t/<organisation>/login.",
                     "请在贵单位的地址登录：/t/<单位>/login。"),
    "login.title": ("Sign in", "登录"),
    "login.email": ("Email", "邮箱"),
    "login.password": ("Password", "密码"),
    "login.submit": ("Sign in", "登录"),
    "login.wrong": ("Wrong email or password.", "邮箱或密码错误。"),
    "login.locked": ("Too many failed sign-ins: try again after {until} UTC.",
                     "登录失败次数过多：请在 UTC {until} 之后再试。"),
    "login.signed_out": ("You have signed out.", "您已退出登录。"),
    "refused.sign_in": ("Sign in required", "需要登录"),
    "refused.sign_in_body": ("Sign in to see this page.", "请先登录再查看此页面。"),
    "refused.not_allowed": ("Not allowed", "无权访问"),
    "refused.admins_only": ("Only the organisation's admins may use the designer; ask one for the admin role.",
                            "只有管理员可以使用设计器；请联系管理员为您授予 admin 角色。"),
    "refused.csrf": ("This form has expired or did not come from this site. Reload the page and try again.",
                     "表单已过期或并非来自本站。请刷新页面后重试。"),
    "refused.not_found": ("Not found", "未找到"),
    "refused.not_found_body": ("There is no such page.", "没有这个页面。"),
    "home.title": ("Objects", "对象"),
    "home.release": ("Release {number}", "版本 {number}"),
    "home.no_release": ("Nothing published yet", "尚未发布"),
    "home.drafts": ("{count} unpublished change(s)", "{count} 项未发布的更改"),
    "home.new_object": ("New object", "新建对象"),
    "col.label": ("Label", "标签"),
    "col.name": ("API name", "API 名称"),
    "col.type": ("Type", "类型"),
    "col.details": ("Details", "详情"),
    "col.fields": ("Fields", "字段"),
    "col.state": ("State", "状态"),
    "state.draft": ("draft", "草稿"),
    "state.published": ("published", "已发布"),
    "object.new": ("New object", "新建对象"),
    "object.fields": ("Fields", "字段"),
    "object.add_field": ("Add a field", "添加字段"),
    "object.rules": ("Validation rules", "校验规则"),
    "object.add_rule": ("Add a validation rule", "添加校验规则"),
    "object.no_rules": ("No validation rules.", "暂无校验规则。"),
    "object.problems": ("Problems to fix before publishing", "发布前需修正的问题"),
    "form.name": ("API name", "API 名称"),
    "form.name_hint": ("lowercase letters, digits and _, starting with a letter; it cannot change later",
                       "小写字母、数字和下划线，以字母开头；之后不能修改"),
    "form.label_en": ("Label (English)", "标签（英文）"),
    "form.label_zh": ("Label (Chinese)", "标签（中文）"),
    "form.save": ("Save draft", "保存草稿"),
    "form.cancel": ("Cancel", "取消"),
    "form.delete": ("Remove", "删除"),
    "form.saved": ("Saved as a draft. Publish to make it live.", "已保存为草稿。发布后生效。"),
    "form.fix": ("Nothing was saved: fix the marked fields.", "未保存：请修正标出的字段。"),
    "form.conflict": ("Someone else changed this {what} since you opened it: nothing was saved. "
                      "Your entries are kept below; reload to see their change.",
                      "您打开此{what}后，其他人修改了它：未保存。您填写的内容保留在下方；请刷新查看对方的更改。"),
    "form.required_value": ("Enter a value.", "请填写。"),
    "form.bad_name": ("Use lowercase letters, digits and _, starting with a letter.",
                      "请使用小写字母、数字和下划线，并以字母开头。"),
    "form.exists": ("{name} already exists.", "{name} 已存在。"),
    "form.bad_number": ("Enter a number.", "请输入数字。"),
    "form.bad_boolean": ("Enter true or false.", "请输入 true 或 false。"),
    "form.not_a_choice": ("The default must be one of the choices.", "默认值必须是选项之一。"),
    "form.metadata_error": ("{message}", "{message}"),
    "field.new": ("New field on {object}", "为 {object} 新建字段"),
    "field.edit": ("Field {field} of {object}", "{object} 的字段 {field}"),
    "field.kind": ("Type", "类型"),
    "field.required": ("Required", "必填"),
    "field.unique": ("Unique", "唯一"),
    "field.index": ("Indexed", "建立索引"),
    "field.default": ("Default value", "默认值"),
    "field.choices": ("Choices, one per line", "选项，每行一个"),
    "field.ref": ("Looks up object", "关联对象"),
    "field.reverse": ("Name of the reverse list on that object (optional)", "对方对象上反向列表的名称（可选）"),
    "field.formula": ("Formula", "公式"),
    "field.formula_ok": ("The formula is valid.", "公式有效。"),
    "field.result": ("Formula result type", "公式结果类型"),
    "field.rollup_object": ("Roll up records of object", "汇总对象"),
    "field.rollup_via": ("Through its lookup field", "通过其关联字段"),
    "field.rollup_function": ("Function", "函数"),
    "field.rollup_field": ("Of field (not for count)", "汇总字段（计数时不填）"),
    "kind.text": ("Text", "文本"),
    "kind.number": ("Number", "数字"),
    "kind.integer": ("Whole number", "整数"),
    "kind.currency": ("Currency", "货币"),
    "kind.percent": ("Percent", "百分比"),
    "kind.date": ("Date", "日期"),
    "kind.datetime": ("Date and time", "日期时间"),
    "kind.boolean": ("Yes/no", "是/否"),
    "kind.picklist": ("Picklist", "单选列表"),
    "kind.multiselect": ("Multi-select", "多选列表"),
    "kind.lookup": ("Lookup", "查找关联"),
    "kind.formula": ("Formula", "公式"),
    "kind.rollup": ("Roll-up", "汇总"),
    "rule.new": ("New validation rule on {object}", "为 {object} 新建校验规则"),
    "rule.condition": ("Condition that must hold (an expression)", "必须成立的条件（表达式）"),
    "rule.message_en": ("Message when it does not (English)", "不成立时的提示（英文）"),
    "rule.message_zh": ("Message when it does not (Chinese)", "不成立时的提示（中文）"),
    "publish.title": ("Publish", "发布"),
    "publish.base": ("Changes against release {number}", "相对于版本 {number} 的更改"),
    "publish.base_none": ("Changes (nothing is published yet)", "更改（尚未发布任何版本）"),
    "publish.nothing": ("No unpublished changes.", "没有未发布的更改。"),
    "publish.changes": ("What changes", "更改内容"),
    "publish.storage": ("Storage plan", "存储计划"),
    "publish.destructive": ("destructive", "破坏性"),
    "publish.no_storage": ("No storage changes.", "无存储更改。"),
    "publish.invalid": ("The drafts cannot be published yet:", "草稿暂时无法发布："),
    "publish.message": ("Release message", "发布说明"),
    "publish.allow": ("I understand: apply the destructive steps marked above (data is kept aside, not deleted)",
                      "我已了解：执行上面标出的破坏性步骤（数据会被保留在一旁，不会删除）"),
    "publish.must_allow": ("The plan has destructive steps: tick the box to apply them. Nothing was published.",
                           "计划包含破坏性步骤：请勾选确认框。未发布任何内容。"),
    "publish.submit": ("Publish", "发布"),
    "publish.discard": ("Discard all drafts", "放弃全部草稿"),
    "publish.done": ("Published release {number}.", "已发布版本 {number}。"),
    "publish.failed": ("Publishing failed; nothing was changed and the drafts are kept: {error}",
                       "发布失败；未做任何更改，草稿保留：{error}"),
    "publish.discarded": ("The drafts were discarded.", "草稿已放弃。"),
    "history.title": ("Release history", "发布历史"),
    "history.when": ("When (UTC)", "时间（UTC）"),
    "history.author": ("Author", "作者"),
    "history.message": ("Message", "说明"),
    "history.changes": ("Changes", "更改数"),
    "history.compare": ("Compare", "比较"),
    "history.diff": ("Release {a} → {b}", "版本 {a} → {b}"),
    "history.rollback": ("Roll back to this release", "回滚到此版本"),
    "history.rolled_back": ("Published release {number}, with the content of release {target}.",
                            "已发布版本 {number}，内容与版本 {target} 相同。"),
    "rules.title": ("Workflow rules", "工作流规则"),
    "rules.trigger": ("Trigger", "触发方式"),
    "rules.object": ("Object", "对象"),
    "rules.active": ("Active", "启用"),
    "rules.offsets": ("Days before the date (comma separated, e.g. 90,60,30,7,0)",
                      "日期前的天数（逗号分隔，如 90,60,30,7,0）"),
    "rules.date_field": ("Date field", "日期字段"),
    "rules.time": ("Time of day (HH:MM)", "时间（时:分）"),
    "rules.timezone": ("Time zone", "时区"),
    "rules.condition": ("Condition (an expression, optional)", "条件（表达式，可选）"),
    "rules.actions": ("Actions", "动作"),
    "rules.subject": ("Message subject template", "消息标题模板"),
    "rules.body": ("Message body template", "消息正文模板"),
    "rules.preview": ("Preview: what the drafts would do in the next {days} days",
                      "预览：草稿在未来 {days} 天内将执行的操作"),
    "rules.preview_none": ("Nothing would fire in the next {days} days.", "未来 {days} 天内不会触发任何操作。"),
    "rules.preview_invalid": ("The drafts are not valid yet, so there is no preview:",
                              "草稿尚未有效，无法预览："),
    "rules.objects_drafted": ("Objects have unpublished changes: the preview runs the drafted rules over the "
                              "published objects until those are published.",
                              "对象有未发布的更改：在对象发布之前，预览以已发布的对象运行草稿中的规则。"),
    "rules.firings": ("{count} firing(s) in all", "共 {count} 次触发"),
    "rules.sample": ("Sample message for the first firing", "首次触发的示例消息"),
    "rules.day": ("Day", "日期"),
    "rules.record": ("Record", "记录"),
    "rules.step": ("Step", "步骤"),
    "rules.outcome": ("Outcome", "结果"),
    "rules.recipient": ("Recipient", "收件人"),
    "rules.offsets_bad": ("Enter whole numbers of days separated by commas.", "请输入以逗号分隔的整数天数。"),
    "rules.time_bad": ("Enter a time as HH:MM.", "请按 时:分 格式输入时间。"),
}

CATALOGUE: Mapping[str, Mapping[str, str]] = MappingProxyType({
    key: MappingProxyType({"en": en, "zh-CN": zh}) for key, (en, zh) in _CATALOGUE.items()})


def language_of(choice: str | None, tenant_locale: str) -> str:
    """The visitor's choice when it is one we have, else the tenant's locale's language."""
    for wanted in (choice, tenant_locale):
        if wanted in LANGUAGES:
            return wanted
        if wanted and wanted.lower().startswith("zh"):
            return "zh-CN"
    return "en"


@dataclass(frozen=True)
class Translator:
    language: str

    def t(self, key: str, **values: object) -> str:
        text = CATALOGUE[key][self.language]
        return text.format(**values) if values else text

    @property
    def other(self) -> str:
        """The language the switch offers."""
        return "en" if self.language == "zh-CN" else "zh-CN"
