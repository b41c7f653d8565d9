"""Approval flows at run time: a feature above the records core (which never imports it).

Modules: `tables` (requests, per-approver tasks, history, delegations), `processes` (a process
document compiled for the engine, read from the release a request is pinned to), `people`
(whom a step asks: approvers resolved with the manager chain and delegations), `engine`
(submit, approve, reject, recall, reassign: one transaction each, record writes through the
records service), `lock` (the write hook that keeps a pending record from being edited).
May import the platform, the metadata language, the runtime core and automation (whose
action vocabulary an outcome uses); never `services` or `worker`, which compose it.
"""
