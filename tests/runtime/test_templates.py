"""Message templates: tenant-locale formatting, strictness, the sandbox and the size limits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import jinja2
import pytest

from trellis.metadata.templates import JINJA_FILTERS, TEMPLATE_FILTERS, TEMPLATE_GLOBALS, TEMPLATE_TESTS
from trellis.runtime.templates import MAX_OUTPUT, MAX_STEPS, MAX_VALUES, TemplateError, Templates
from trellis.runtime.templates.budget import current, measure
from trellis.runtime.templates.metering import weight

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZH = Templates("zh-CN", SHANGHAI)
EN = Templates("en", SHANGHAI)
ZH_PARSER = jinja2.Environment()


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


RANGE = r"the loops of one message may run at most 100,000 times in all"
VALUES = r"the template built a value of more than [\d,]+ characters and items"
STEPS = r"the template took more than 500,000 steps"
WIDTH = r"a width of \d+ is larger than a message may be \(100,000\)"
FORMAT = r"format widths must be written out and below 100000"


@pytest.mark.parametrize(("source", "refusal"), [
    ("{% for i in range(10**9) %}{% endfor %}", RANGE),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", RANGE),
    ("{% for i in range(60000) %}x{% endfor %}{% for i in range(60000) %}x{% endfor %}", RANGE),
    ("{{ 'x' * 10**9 }}", r"repetition would make 1,000,000,000 items; the limit is 100,000"),
    ("{{ [0] * 10**9 }}", r"repetition would make 1,000,000,000 items"),
    ("{{ 2 ** 100000 }}", r"the exponent 100000 is too large; the limit is 100"),
    ("{{ (10 ** 90) ** 90 }}", r"a power of a 299-bit number is too large to compute"),
    ("{% set n = 10 ** 90 %}{{ n * n * n * n * n * n * n * n * n * n * n * n }}",
     r"a product of whole numbers this large is too large to compute"),
    ("{{ 'x'.center(10**9) }}", WIDTH),
    ("{{ 'x'|center(10**9) }}", WIDTH),
    ("{{ 'x'|indent(10**9) }}", WIDTH),
    ("{{ [1]|batch(10**9, 0)|list }}", WIDTH),
    ("{{ [1]|slice(10**9)|list }}", WIDTH),
    ("{{ '%999999999s' % 'x' }}", FORMAT),
    ("{{ '%*s' % (10**9, 'x') }}", FORMAT),
    ("{{ '%999999999s'|format('x') }}", FORMAT),
    ("{{ '{:>999999999}'.format('x') }}", FORMAT),
    ("{{ '{:{}}'.format('x', 10**9) }}", FORMAT),
    ("{% for i in range(99999) %}{{ 'x' * 2 }}{% endfor %}", r"the message is longer than 100,000 characters"),
    ("{% for i in range(99999) %}{% set t = 'x' * 2 %}{% if t in 'xyz' %}{% endif %}{% endfor %}", STEPS),
    ("{% set s = 'x' * 99999 %}{{ s.replace('', s)|length }}", VALUES),
    ("{% set s = 'x' * 99999 %}{{ ([s] * 99)|join|length }}", VALUES),
    ("{{ [[1]] * 99999|sum(start=[]) }}", r"sum adds numbers"),
    ("{{ ('x' * 99999).encode().replace(''.encode(), ('y' * 99999).encode())|length }}", VALUES),
    ("{{ ('a ' * 49999)|urlize(target='x' * 99999)|length }}", VALUES),
    ("{{ ('x' * 99999)|sort|length }}", STEPS),
    ("{% for i in range(10) %}{{ ('word ' * 19999)|wordwrap(5)|length }}{% endfor %}", STEPS),
])
def test_runaway_templates_are_stopped_by_the_limit_they_reach(source: str, refusal: str):
    """Each runaway is refused, and by the limit it reaches first (how fast is measured in
    bench/, not here)."""
    with pytest.raises(TemplateError, match=refusal):
        ZH.render(source, {})


def test_a_value_is_measured_deep_and_a_cycle_stops_the_walk():
    """Characters and items of every text, list and dict in a value, steps to go over them: a
    list holding another twice counts it twice (printing it would write it twice)."""
    inner = ["ab", "c"]
    assert measure(inner, MAX_VALUES, MAX_STEPS) == (2 + 3, 1 + 2)
    assert measure({"k": [inner, inner]}, MAX_VALUES, MAX_STEPS) == (1 + 1 + 2 + 2 * 5, 1 + 2 + 2 + 2 * 2)
    assert measure("x" * 640, MAX_VALUES, MAX_STEPS) == (640, 1 + 10)
    cycle: list[object] = [1]
    cycle.append(cycle)
    size, steps = measure(cycle, 1_000, MAX_STEPS)
    assert 1_000 < size < 1_010 and steps < 1_010


def test_a_loop_is_charged_for_each_pass_by_the_size_of_its_body():
    """A pass of a loop costs one step and one for each node of its body; each item a loop's
    `if` tests costs what the test holds."""
    assert weight([]) == 1
    body = ZH_PARSER.parse("{{ x }}").body  # Output(Name): two nodes
    assert weight(body) == 1 + 2
    with pytest.raises(TemplateError, match=STEPS):  # passes of an empty body: one step each
        ZH.render("{% for i in l %}{% endfor %}", {"l": [0] * (MAX_STEPS + 1)})
    assert ZH.render("{% for i in l %}{% endfor %}ok", {"l": [0] * (MAX_STEPS - 100)}) == "ok"
    with pytest.raises(TemplateError, match=STEPS):  # the items an `if` skips cost its two steps
        ZH.render("{% for i in l if false %}{% endfor %}", {"l": [0] * (MAX_STEPS // 2 + 1)})


def test_the_budget_is_per_rendering():
    """Each rendering starts afresh, so a template that nearly fills it renders again and again."""
    source = "{% set ns = namespace(s='x') %}{% for i in range(20) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}" \
             "{{ ns.s|length }}"
    assert [ZH.render(source, {}) for _ in range(3)] == ["1048576"] * 3
    with pytest.raises(TemplateError, match="template code runs only while its template renders"):
        current()


def test_output_is_capped():
    assert len(ZH.render("{% for i in range(50000) %}xx{% endfor %}", {})) == MAX_OUTPUT
    with pytest.raises(TemplateError, match=r"the message is longer than 100,000 characters"):
        ZH.render("{% for i in range(50001) %}xx{% endfor %}", {})
    with pytest.raises(TemplateError, match=r"longer than 100,000"):
        ZH.render("{{ text }}{{ text }}", {"text": "x" * 60_000})


RELATED = {"record": {"name": "云平台", "amount": Decimal("1234.50"), "tags": ["a", "b"]},
           "related": {"account": {"name": "上海示例", "tier": "gold"}, "owner": {"name": None}}}


@pytest.mark.parametrize(("source", "expected"), [
    ("{% for name, r in related|dictsort %}{{ name }}={{ r.name or '-' }};{% endfor %}", "account=上海示例;owner=-;"),
    ("{% for t in record.tags %}{{ loop.index }}{{ t|upper }}{% if not loop.last %}, {% endif %}{% endfor %}",
     "1A, 2B"),
    ("{% set ns = namespace(total=0) %}{% for i in range(1, 5) %}{% set ns.total = ns.total + i %}{% endfor %}"
     "{{ ns.total }}", "10"),
    ("{{ record.tags|map('upper')|join(' / ') }}", "A / B"),
    ("{{ [related.account.name, record.name]|join('：') }}", "上海示例：云平台"),
    ("{{ '{:,}'.format(1234567) }} {{ '%05d'|format(42) }} {{ '%s-%s' % ('a', 'b') }}", "1,234,567 00042 a-b"),
    ("{{ record.name ~ '（' ~ related.account.tier|title ~ '）' }}", "云平台（Gold）"),
    ("{{ (record.amount * 2)|money }} {{ record.amount|round|int }}", "¥2,469.00 1234"),
    ("{{ record.name.replace('云', '私有云') }} {{ 'a-b-c'.split('-')|length }}", "私有云平台 3"),
    ("{{ dict(a=1, b=2)|dictsort|map('last')|sum }}", "3"),
    ("{% macro row(k, v) %}{{ k }}: {{ v }}\n{% endmacro %}{{ row('合同', record.name) }}{{ row('客户', "
     "related.account.name) }}", "合同: 云平台\n客户: 上海示例\n"),
    ("{{ record.tags[0] }}{{ record.name[:1] }}{{ record|length }}{{ 'a' in record.tags }}", "a云3True"),
    ("{{ record.name.center(9, '*') }}|{{ 'x\ny'|indent(2, first=true) }}", "***云平台***|  x\n  y"),
    ("{{ related.values()|selectattr('name')|map(attribute='name')|list }}", "['上海示例']"),
])
def test_what_legitimate_templates_keep_doing(source: str, expected: str):
    assert ZH.render(source, RELATED) == expected


def test_templates_have_exactly_the_filters_tests_and_functions_publish_allows():
    """One list of names (trellis.metadata.templates) for both sides."""
    environment = ZH._env  # noqa: SLF001 (what the runtime really provides)
    assert set(environment.filters) == TEMPLATE_FILTERS
    assert set(environment.tests) == TEMPLATE_TESTS
    assert set(environment.globals) == TEMPLATE_GLOBALS
    assert set(jinja2.filters.FILTERS) - JINJA_FILTERS == {"pprint"}  # a new Jinja filter is a decision
    assert set(jinja2.tests.TESTS) == TEMPLATE_TESTS


def test_a_template_nested_too_deeply_to_compile_is_a_template_error():
    with pytest.raises(TemplateError, match="nests too deeply to compile"):
        ZH.compile("{{ " + "[" * 400 + "1" + "]" * 400 + " }}")


def test_an_unknown_locale_is_refused():
    with pytest.raises(ValueError, match="unknown locale 'xx-YY'"):
        Templates("xx-YY", SHANGHAI)
