"""Template bombs (issue 10, finding 2): values doubled past every per-operation cap, loops that
run away, templates reaching Python internals.

A tenant admin writes message templates and a record-triggered rule renders them inside an
ordinary user's write, so each bomb must be refused at render within a small memory ceiling
(measured with tracemalloc; time is not asserted here, it belongs in bench/), refused at
publish already where its source gives it away, and must never take the write down: the write
commits and the firing is recorded failed, saying which limit stopped it.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.runtime.automation.world import ACCOUNT, CONTRACT, World
from trellis.metadata import MetadataSet, validate_set
from trellis.metadata.template_checks import check_template
from trellis.metadata.templates import MAX_OUTPUT, RULE_TEMPLATE_NAMES
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.templates import MAX_STEPS, MAX_VALUES, TemplateError, Templates

TEMPLATES = Templates("zh-CN", ZoneInfo("Asia/Shanghai"))
CEILING = 40 * 2**20  # bytes: the most any bomb may have allocated at once before it was refused

VALUES = r"the template built a value of more than [\d,]+ characters and items.*the limit is 4,000,000 per message"
STEPS = r"the template took more than 500,000 steps .*the limit is 500,000 per message"
NUMBERS = r"the loops of one message may run at most 100,000 times in all"
REPEATED = r"repetition would make [\d,]+ items; the limit is 100,000"


@dataclass(frozen=True)
class Bomb:
    name: str
    source: str
    refused: str  # what the runtime says stopped it
    at_publish: bool  # whether its source gives it away


def doubled(step: str, start: str = "'x'", times: int = 24, then: str = "{{ ns.v|length }}") -> str:
    """A namespace value `step` replaces by twice itself on each of `times` passes."""
    return f"{{% set ns = namespace(v={start}) %}}{{% for i in range({times}) %}}{step}{{% endfor %}}{then}"


BOMBS = [
    Bomb("text doubled with ~", doubled("{% set ns.v = ns.v ~ ns.v %}"), VALUES, True),
    Bomb("text doubled with +", doubled("{% set ns.v = ns.v + ns.v %}"), VALUES, True),
    Bomb("text doubled with * 2", doubled("{% set ns.v = ns.v * 2 %}"), REPEATED, True),
    Bomb("text doubled with join", doubled("{% set ns.v = [ns.v, ns.v]|join %}"), VALUES, True),
    Bomb("text doubled in a set block", doubled("{% set ns.v %}{{ ns.v }}{{ ns.v }}{% endset %}"), VALUES, True),
    Bomb("text doubled by a macro", "{% macro twice(s) %}{{ s }}{{ s }}{% endmacro %}"
         + doubled("{% set ns.v = twice(ns.v) %}", times=30), VALUES, False),
    Bomb("text doubled without a loop", "{% set s = 'x' %}" + "{% set s = s ~ s %}" * 30 + "{{ s|length }}",
         VALUES, True),
    Bomb("list doubled with +", doubled("{% set ns.v = ns.v + ns.v %}", start="('x' * 99999)|list", times=14),
         STEPS, True),
    Bomb("list extended by itself", "{% set l = [1] %}{% for i in range(40) %}{{ l.extend(l) or '' }}{% endfor %}",
         VALUES, False),
    Bomb("dict nested in itself twice, printed",
         doubled("{% set ns.v = {'a': ns.v, 'b': ns.v} %}", start="{}", times=40, then="{{ ns.v }}"), STEPS, True),
    Bomb("dict built by dict() twice over", doubled("{% set ns.v = dict(a=ns.v, b=ns.v) %}", start="{}", times=40),
         STEPS, True),
    Bomb("nested loops over a list", "{% set l = range(1000)|list %}"
         "{% for a in l %}{% for b in l %}{% for c in l %}{% endfor %}{% endfor %}{% endfor %}", STEPS, False),
    Bomb("nested loops over literal ranges",
         "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", NUMBERS, True),
    Bomb("a loop's if over a list, many times", "{% set l = range(1000)|list %}"
         "{% for a in l %}{% for b in l if false %}{% endfor %}{% endfor %}", STEPS, False),
    Bomb("macro recursion", "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}x{% endmacro %}"
         "{{ f(30)|length }}", STEPS, False),
    Bomb("format widths that add up", "{{ '" + "%99999s" * 41 + "'|format(*range(41))|length }}", VALUES, True),
    Bomb("format widths repeated", "{% set f = '%99999s' * 1000 %}{{ f|format(*range(1000))|length }}", VALUES, False),
    Bomb("format fields repeated", "{% set f = '{0}' * 30000 %}{{ f.format('x' * 99999)|length }}", VALUES, False),
    Bomb("join with a long separator", "{{ (range(1000)|list)|join('x' * 99999)|length }}", VALUES, False),
    Bomb("replace '' with a long text", "{{ ('x' * 99999)|replace('', 'y' * 99999)|length }}", VALUES, False),
    Bomb("indent many lines", "{{ ('x\\n' * 50000)|indent(99999)|length }}", VALUES, False),
    Bomb("expand many tabs", "{{ ('\\t' * 99999).expandtabs(99999)|length }}", VALUES, False),
    Bomb("a long text searched again and again",
         "{% set s = 'x' * 99999 %}{% for i in range(99999) %}{% if 'y' in s %}{% endif %}{% endfor %}", STEPS, False),
    Bomb("a long text copied again and again",
         "{% set s = 'x' * 99999 %}{% for i in range(99999) %}{% set t = s[1:] %}{% endfor %}", VALUES, False),
]


def traced_peak(action: Any) -> int:
    """Run `action` under tracemalloc; the most memory it held at once, in bytes."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        if not already:
            tracemalloc.stop()


@pytest.mark.parametrize("bomb", BOMBS, ids=[bomb.name for bomb in BOMBS])
def test_a_bomb_is_refused_at_render_within_a_memory_ceiling(bomb: Bomb) -> None:
    refused: list[TemplateError] = []

    def render() -> None:
        with pytest.raises(TemplateError, match=bomb.refused) as caught:
            TEMPLATES.render(bomb.source, {})
        refused.append(caught.value)

    held = traced_peak(render)
    assert refused, "the bomb rendered"
    assert held < CEILING, f"{held / 2**20:.1f} MB held before the refusal"


@pytest.mark.parametrize("bomb", BOMBS, ids=[bomb.name for bomb in BOMBS])
def test_a_bomb_whose_source_gives_it_away_is_refused_at_publish(bomb: Bomb) -> None:
    problems = check_template(bomb.source, RULE_TEMPLATE_NAMES)
    assert bool(problems) == bomb.at_publish, problems


def test_the_limits_leave_room_for_real_messages() -> None:
    """The budgets stop bombs, not messages: a message as long as a message may be, printed row
    by row, and a summary gathered in a namespace over a few hundred rows both render. (Each
    `~` builds its whole text anew, so what a loop gathers that way costs the square of its
    rows: print long lists instead.)"""
    rows = [{"name": f"合同 {i}", "amount": i * 100} for i in range(2500)]
    printed = TEMPLATES.render("{% for row in rows %}{{ loop.index }}. {{ row.name }}: {{ row.amount|money }}\n"
                               "{% endfor %}", {"rows": rows})
    assert printed.count("\n") == 2500 and len(printed) > MAX_OUTPUT // 2
    gathered = TEMPLATES.render("{% set ns = namespace(text='') %}{% for row in rows %}"
                                "{% set ns.text = ns.text ~ row.name ~ '、' %}{% endfor %}{{ ns.text|length }}",
                                {"rows": rows[:300]})
    assert int(gathered) > 1500
    assert MAX_VALUES >= 40 * MAX_OUTPUT and MAX_STEPS >= 5 * MAX_OUTPUT


# -- at publish: file and JSON path, like every other metadata error ---------------------------


def rule_with_body(body: str) -> dict[str, Any]:
    return {"object": "contract", "trigger": {"type": "record", "events": ["updated"]},
            "actions": [{"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}],
                         "subject": "{{ record.name }}", "body": body}]}


def with_objects(rule: dict[str, Any]) -> MetadataSet:
    return MetadataSet({("object", "account"): ACCOUNT, ("object", "contract"): CONTRACT, ("workflow_rule", "bomb"): rule})


@pytest.mark.parametrize(("body", "words"), [
    ("{{ ''.__class__ }}", "'__class__' starts with an underscore"),
    ("Dear {{ recipient.name }},\n{{ record.__init__ }}", "line 2: '__init__' starts with an underscore"),
    ("{{ record['__class__'] }}", "'__class__' starts with an underscore"),
    ("{{ record|attr('__class__') }}", "'__class__' starts with an underscore"),
    ("{{ record.name|nosuchfilter }}", "there is no filter 'nosuchfilter'"),
    ("{{ record.name|pprint }}", "there is no filter 'pprint'"),
    ("{% if record.name is nosuchtest %}{% endif %}", "there is no test 'nosuchtest'"),
    ("{{ nosuchname }}", "'nosuchname' is undefined (a template here sees due, offset, recipient, record, related, "
                         "rule, today"),
    ("{{ lipsum() }}", "'lipsum' is undefined"),
    ("{{ recipent.name }}", "did you mean 'recipient'?"),
    ("{% for i in range(10**9) %}{% endfor %}", "range() here makes 1,000,000,000 numbers"),
    ("{{ 'x' * 10**9 }}", "repeating a text or list 1,000,000,000 times"),
    ("{{ 'x'|center(10**9) }}", "a width or count of 1,000,000,000"),
    ("{{ '%999999999s'|format(1) }}", "format widths must be written out"),
    ("{{ 2 ** 100000 }}", "the exponent 100,000 is too large"),
    ("{% include 'other.txt' %}", "cannot extend, include or import another template"),
    ("{{ " + "[" * 50 + "1" + "]" * 50 + " }}", "nests 52 levels deep; the limit is 40"),
])
def test_a_dangerous_template_is_refused_at_publish_with_file_and_path(body: str, words: str) -> None:
    errors = validate_set(with_objects(rule_with_body(body)))
    assert [(e.file, e.path) for e in errors] == [("workflow_rules/bomb.json", "$.actions[0].body")], errors
    assert words in errors[0].message


def test_the_templates_of_every_action_are_checked() -> None:
    rule = rule_with_body("{{ record.name }}")
    rule["actions"] = [
        {"type": "notify", "channel": "email", "to": [{"address": "a@example.test"}],
         "subject": "{{ ''.__class__ }}", "body": "{{ x|nosuchfilter }}"},
        {"type": "create_task", "assignee": {"user": "a@example.test"},
         "title": "{{ nosuchname }}", "description": "{% for i in range(10**9) %}{% endfor %}"},
    ]
    errors = validate_set(with_objects(rule))
    assert sorted({e.path for e in errors}) == ["$.actions[0].body", "$.actions[0].subject", "$.actions[1].description",
                                                 "$.actions[1].title"]


# -- a bomb fired by a write -------------------------------------------------------------------


@pytest.fixture
def world(installation: Installation) -> World:
    return World.create(installation)


def test_a_bomb_in_a_record_triggered_rule_fails_the_firing_and_the_write_commits(world: World) -> None:
    """The firing is recorded failed with the limit that stopped it; the user's write commits and
    nothing is sent. (A bomb its source gives away never gets this far: it is refused at publish.)"""
    bomb = next(b for b in BOMBS if b.name == "text doubled by a macro")
    world.publish(bomb=rule_with_body(bomb.source))
    contract = world.contract("Cloud plan", date(2026, 6, 30))

    def update() -> None:
        world.records().update(Actor.system(), "contract", contract, {"note": "renegotiated"})

    held = traced_peak(update)
    assert world.records().get(Actor.system(), "contract", contract)["note"] == "renegotiated"
    [run] = world.runs()
    assert run["outcome"] == "failed"
    assert run["reason"].startswith("action 1 (notify): line 1: the template built a value of more than")
    assert world.deliveries() == []
    assert held < CEILING, f"{held / 2**20:.1f} MB held by the write"
