"""Workflow rules at run time: before/after-save rules, the scheduler of date and schedule
rules, the delivery ledger and its dispatcher, the worker that runs both, and preview.

Modules: `rules` (compiled rules and their index), `actions` (the registry of action types:
each plans at firing and performs at delivery), `firing` (plan and record one firing),
`on_save` (rules run by the records service), `scheduler`, `dispatcher`, `worker`, `preview`
(of published or draft rules), `ledger` (what fired, was sent, skipped or failed, and why;
dead letters queued again).
"""
