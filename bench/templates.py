"""templates: what the rendering budgets cost a normal message, and how soon a bomb is stopped.

Rows (pure Python: they run once, on the SQLite pass):
* `render`  the renewals reminder's subject and body (a record's title, number, end date and
            amount, with the `date` and `money` filters) rendered for N firings (N = rows / 10,
            1,000 at quick sizes) with `Templates.render`, against the same two templates
            compiled once in a plain Jinja `SandboxedEnvironment` with the same helpers, in the
            same process: what Trellis adds (budgets, output cap, template cache). Both sides'
            texts are compared first.
* `refuse`  bombs from tests/security/test_template_bombs.py, each rendered until its budget
            stops it: the Trellis figure is the slowest refusal, the baseline plain Jinja
            rendering the messages of 1,000 firings, so the ratio reads as "a bomb costs as much
            as this many thousand messages". The notes give each refusal. (The tests assert only
            that each is refused, and the memory it held.)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from bench.backends import Backend
from bench.harness import Result, Sizes, Stopwatch, TimedRun, compare, time_once
from bench.reminders import RULE
from trellis.runtime.templates import TemplateError, Templates

NAME = "templates"
ZONE = ZoneInfo("Asia/Shanghai")
MESSAGE = (RULE["actions"][0]["subject"], RULE["actions"][0]["body"])
BOMBS = {
    "text doubled with ~": "{% set ns = namespace(v='x') %}{% for i in range(40) %}{% set ns.v = ns.v ~ ns.v %}"
                           "{% endfor %}",
    "list doubled with +": "{% set ns = namespace(v=('x' * 99999)|list) %}{% for i in range(14) %}"
                           "{% set ns.v = ns.v + ns.v %}{% endfor %}",
    "dict nested in itself twice": "{% set ns = namespace(v={}) %}{% for i in range(40) %}"
                                   "{% set ns.v = {'a': ns.v, 'b': ns.v} %}{% endfor %}{{ ns.v }}",
    "nested loops over a list": "{% set l = range(1000)|list %}{% for a in l %}{% for b in l %}{% for c in l %}"
                                "{% endfor %}{% endfor %}{% endfor %}",
    "macro recursion": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(30) }}",
    "join with a long separator": "{{ (range(1000)|list)|join('x' * 99999)|length }}",
}


def contexts(count: int) -> list[dict[str, Any]]:
    return [{"record": {"title": f"合同 {i}", "number": f"HT-{i:06d}", "end_date": date(2026, 1 + i % 12, 1 + i % 28),
                        "amount": Decimal(i * 7919 % 1_000_000) / 100}} for i in range(count)]


def plain_environment(templates: Templates) -> SandboxedEnvironment:
    """Jinja's sandbox with the same helpers, and nothing charged."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(date=templates.format_date, money=templates.format_money)
    return env


def trellis_render(templates: Templates, rows: list[dict[str, Any]]) -> TimedRun:
    def run(i: int, watch: Stopwatch) -> None:
        with watch:
            for context in rows:
                for source in MESSAGE:
                    templates.render(source, context)
    return run


def baseline_render(env: SandboxedEnvironment, rows: list[dict[str, Any]]) -> TimedRun:
    compiled = [env.from_string(source) for source in MESSAGE]

    def run(i: int, watch: Stopwatch) -> None:
        with watch:
            for context in rows:
                for template in compiled:
                    template.render(context)
    return run


def check_same_texts(templates: Templates, env: SandboxedEnvironment, rows: list[dict[str, Any]]) -> None:
    for context in rows:
        for source in MESSAGE:
            ours, theirs = templates.render(source, context), env.from_string(source).render(context)
            if ours != theirs:
                raise AssertionError(f"{source!r}: Trellis rendered {ours!r}, plain Jinja {theirs!r}")


def refusal(templates: Templates, source: str) -> TimedRun:
    def run(i: int, watch: Stopwatch) -> None:
        with watch:
            try:
                templates.render(source, {})
            except TemplateError:
                return
        raise AssertionError(f"the bomb {source!r} rendered")
    return run


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    if backend.name != "sqlite":
        return []
    templates = Templates("zh-CN", ZONE)
    env = plain_environment(templates)
    rows = contexts(max(sizes.rows // 10, 1))
    check_same_texts(templates, env, rows[:100])
    ours, theirs = compare(trellis_render(templates, rows), baseline_render(env, rows), sizes.cpu_repeat)
    per_message = (ours - theirs) / len(rows) * 1e6
    results = [Result(f"{NAME}/render", backend.name, ours, theirs,
                      f"pure Python: subject and body for {len(rows):,} firings, {per_message:+.1f} µs per firing "
                      f"(budgets, output cap, cache) over Jinja's sandbox alone; best of {sizes.cpu_repeat}")]
    refusals = {name: min(time_once(refusal(templates, source), i) for i in range(sizes.cpu_repeat))
                for name, source in BOMBS.items()}
    slowest = max(refusals, key=refusals.__getitem__)
    thousand_messages = theirs / len(rows) * 1000
    results.append(Result(f"{NAME}/refuse", backend.name, refusals[slowest], thousand_messages,
                          f"the slowest of {len(BOMBS)} bombs to be refused: {slowest}; each refusal "
                          + ", ".join(f"{name} {seconds * 1e3:.0f} ms" for name, seconds in refusals.items())))
    return results
