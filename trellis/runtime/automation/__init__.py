"""Workflow rules at run time: before/after-save rules, the scheduler of date and schedule
rules, the delivery ledger and its dispatcher, and preview.

Modules: `rules` (compiled rules and their index), `actions` (the registry of action types:
each plans at firing and performs at delivery), `firing` (plan and record one firing),
`on_save` (the write hook through which record-triggered rules run), `scheduler`, `dispatcher`,
`preview` (of published or draft rules), `ledger` (what fired, was sent, skipped or failed, and
why; dead letters queued again), `tables` (watermarks, run history, the ledger). The process
that runs the scheduler and the dispatcher for every tenant is `trellis.runtime.worker`.
"""
