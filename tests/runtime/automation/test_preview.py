"""Preview judges each firing as of the day it falls due, as the worker will then."""

from __future__ import annotations

import copy
from datetime import timedelta

from tests.runtime.automation.world import CONTRACT, SHANGHAI, World
from trellis.runtime.automation.preview import preview

#: A live formula: its value depends on the day it is read.
LIVE = copy.deepcopy(CONTRACT)
LIVE["properties"]["days_left"] = {"type": "integer", "readOnly": True,
                                   "x-formula": "days_between(today(), end_date)"}
WITHIN_A_MONTH = {
    "object": "contract",
    "trigger": {"type": "date", "field": "end_date", "offset": [-30], "unit": "days", "at": "09:00"},
    "condition": "days_left <= 30",
    "actions": [{"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}],
                 "subject": "{{ record.name }}: {{ record.days_left }} days left", "body": "renew"}],
}


def test_live_formulas_conditions_and_templates_are_read_on_the_due_day(world: World):
    world.publish({("object", "contract"): LIVE}, within_a_month=WITHIN_A_MONTH)
    ends = world.clock.now.astimezone(SHANGHAI).date() + timedelta(days=40)  # 40 days left today
    world.contract("Cloud plan", ends)
    [item] = preview(world.db, world.registry, SHANGHAI, "zh-CN", world.clock.now, 20)  # type: ignore[arg-type]
    assert item.day == ends - timedelta(days=30)
    assert (item.outcome, item.subject) == ("fired", "Cloud plan: 30 days left")  # today it would say 40: skipped

    world.scan()  # the worker agrees on the day: it sends what the preview showed
    world.clock.at(item.day, 9, 1)
    assert world.scan().counts["within_a_month"]["fired"] == 1
    world.dispatch()
    assert [n["title"] for n in world.notifications()] == ["Cloud plan: 30 days left"]
