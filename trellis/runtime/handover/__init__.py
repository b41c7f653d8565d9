"""Handover: everything one user owns or waits on moves to another user in one transaction.

A leaver's records (`owner_id`), the queued reminders addressed to them because they own a
record, their pending approval tasks and their open inbox tasks move together, set-based, with
one audit event and a field-history row per record; a dry run reports the same counts and
changes nothing. A feature of the runtime: it reads the tables of records, automation,
approvals and the inbox, and is called by the CLI (`trellis handover`) and GraphQL
(`handover`), never by the records service.
"""

from trellis.runtime.handover.scope import HandoverRequest, HandoverResult, ObjectMove
from trellis.runtime.handover.service import Handover

__all__ = ["Handover", "HandoverRequest", "HandoverResult", "ObjectMove"]
