"""The kernel: settings, database engines, ids, SQL types, the clock, tenancy and the migrations
runner.

It imports nothing else of Trellis and knows no feature: features define their own system tables
on `system_tables.tenant_metadata` beside themselves. Everything else may import it.
"""
