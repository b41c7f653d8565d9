"""Alembic environment for Trellis' own system tables.

Trellis drives Alembic from code (`trellis.platform.migrations`), always handing in an open
connection inside a transaction it owns, plus the PostgreSQL schema of the tenant (None on
SQLite). The version table lives in that schema: Alembic's per-schema multi-tenancy recipe.
"""

from alembic import context

connection = context.config.attributes["connection"]
schema = context.config.attributes.get("schema")

context.configure(
    connection=connection,
    target_metadata=None,
    version_table_schema=schema,
    transactional_ddl=True,
)

with context.begin_transaction():
    context.run_migrations()
