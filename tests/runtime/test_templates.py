"""Message templates: tenant-locale formatting, strictness, the sandbox and the size limits."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from trellis.runtime.templates import MAX_OUTPUT, TemplateError, Templates

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZH = Templates("zh-CN", SHANGHAI)
EN = Templates("en", SHANGHAI)


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ amount|money }}", "¥1,234.50"),
    ("{{ money(amount) }}", "¥1,234.50"),
    ("{{ 1234.5|money }}", "¥1,234.50"),
    ("{{ '1234.5'|money }}", "¥1,234.50"),
    ("{{ 99|money('USD') }}", "US$99.00"),
    ("{{ end|date }}", "2026年3月1日"),
    ("{{ end|date('short') }}", "2026/3/1"),
    ("{{ end|date('yyyy-MM-dd') }}", "2026-03-01"),
    ("{{ '2026-03-01'|date }}", "2026年3月1日"),
    ("{{ instant|date }}", "2026年3月1日"),  # 20:00 UTC on Feb 28 is Mar 1 in Shanghai
    ("{{ instant|datetime }}", "2026年3月1日 04:00:00"),
    ("{{ '2026-02-28T20:00:00Z'|datetime('yyyy-MM-dd HH:mm') }}", "2026-03-01 04:00"),
    ("{{ 1234567.891|number }}", "1,234,567.891"),
    ("{{ 3|number(2) }}", "3.00"),
    ("{{ 12.5|percent }}", "12.5%"),
    ("{{ 30|percent(1) }}", "30.0%"),
    ("{{ {'名称': '上海示例'}|tojson }}", '{"名称": "上海示例"}'),
])
def test_zh_cn_formatting(source: str, expected: str):
    context = {"amount": Decimal("1234.50"), "end": date(2026, 3, 1), "instant": datetime(2026, 2, 28, 20, tzinfo=UTC)}
    assert ZH.render(source, context) == expected


def test_en_formatting():
    context = {"amount": 1234.5, "end": date(2026, 3, 1), "instant": datetime(2026, 2, 28, 20, tzinfo=UTC)}
    assert EN.render("{{ amount|money }} | {{ end|date }} | {{ instant|datetime('short') }} | {{ 1234.5|number }}",
                     context) == "CN¥1,234.50 | March 1, 2026 | 3/1/26, 4:00\u202fAM | 1,234.5"


def test_none_renders_blank():
    context = {"contract": {"number": None, "amount": None, "end": None}}
    source = "[{{ contract.number }}][{{ contract.amount|money }}][{{ contract.end|date }}][{{ none }}]"
    assert ZH.render(source, context) == "[][][][]"


def test_a_misspelt_name_is_an_error_naming_it():
    with pytest.raises(TemplateError, match=r"^line 2: 'contrct' is undefined$"):
        ZH.render("您好\n{{ contrct.number }}", {"contract": {"number": "HT-1"}})
    with pytest.raises(TemplateError, match=r"has no attribute 'numbr'"):
        ZH.render("{{ contract.numbr }}", {"contract": {"number": "HT-1"}})


def test_syntax_errors_name_the_line():
    with pytest.raises(TemplateError, match=r"^line 3: "):
        ZH.compile("a\nb\n{% if x %}")
    with pytest.raises(TemplateError, match=r"^line 1: "):
        ZH.render("{{ x|no_such_filter }}", {"x": 1})


def test_bad_values_are_errors():
    with pytest.raises(TemplateError, match=r"money: 'abc' is not a number"):
        ZH.render("{{ 'abc'|money }}", {})
    with pytest.raises(TemplateError, match=r"date: 'soon' is not an ISO date"):
        ZH.render("{{ 'soon'|date }}", {})
    with pytest.raises(TemplateError, match=r"ZeroDivisionError"):
        ZH.render("{{ 1 / 0 }}", {})


def test_compiled_templates_are_cached_by_source():
    assert ZH.compile("{{ a }}") is ZH.compile("{{ a }}")
    assert ZH.compile("{{ a }}").render({"a": 1}) == "1"


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ record.__init__ }}",
    "{{ record.__class__.__init__.__globals__ }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ record.items.__self__.__class__ }}",
    "{{ namespace.__init__.__globals__['os'] }}",
    "{{ self.__init__.__globals__ }}",
    "{{ ''.format.__globals__ }}",
])
def test_the_sandbox_refuses_internals(source: str):
    with pytest.raises(TemplateError, match=r"^line 1: access to attribute '__\w+__' of '\w+' object is unsafe"):
        ZH.render(source, {"record": {"name": "x"}})


@pytest.mark.parametrize("name", ["config", "request", "lipsum", "cycler", "joiner", "url_for", "os"])
def test_templates_see_no_globals_but_their_helpers(name: str):
    with pytest.raises(TemplateError, match=f"'{name}' is undefined"):
        ZH.render(f"{{{{ {name} }}}}", {})


@pytest.mark.parametrize("source", [
    "{% for i in range(10**9) %}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(60000) %}x{% endfor %}{% for i in range(60000) %}x{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ 2 ** 100000 }}",
    "{{ (10 ** 90) ** 90 }}",
    "{{ 'x'.center(10**9) }}",
    "{{ 'x'|center(10**9) }}",
    "{{ 'x'|indent(10**9) }}",
    "{{ [1]|batch(10**9, 0)|list }}",
    "{{ '%999999999s' % 'x' }}",
    "{{ '%*s' % (10**9, 'x') }}",
    "{{ '%999999999s'|format('x') }}",
    "{{ '{:>999999999}'.format('x') }}",
    "{{ '{:{}}'.format('x', 10**9) }}",
    "{% for i in range(99999) %}{{ 'x' * 2 }}{% endfor %}",
])
def test_runaway_templates_stop_quickly(source: str):
    started = time.monotonic()
    with pytest.raises(TemplateError):
        ZH.render(source, {})
    assert time.monotonic() - started < 2


def test_output_is_capped():
    assert len(ZH.render("{% for i in range(50000) %}xx{% endfor %}", {})) == MAX_OUTPUT
    with pytest.raises(TemplateError, match=r"the message is longer than 100,000 characters"):
        ZH.render("{% for i in range(50001) %}xx{% endfor %}", {})
    with pytest.raises(TemplateError, match=r"longer than 100,000"):
        ZH.render("{{ text }}{{ text }}", {"text": "x" * 60_000})


def test_an_unknown_locale_is_refused():
    with pytest.raises(ValueError, match="unknown locale 'xx-YY'"):
        Templates("xx-YY", SHANGHAI)
