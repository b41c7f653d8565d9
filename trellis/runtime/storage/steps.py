"""The storage steps a publish can take, each able to describe itself and apply itself.

Steps run inside one transaction opened by `trellis.runtime.storage.apply`; each receives a
`StepContext` with the connection, Alembic `Operations` bound to it, and the tables of the
release being published. Nothing here commits.

Retiring never deletes: a removed field's column and a removed object's table are renamed
aside (`<name>__retired_r<release>`) so their data survives until a separate purge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alembic.operations import Operations
from sqlalchemy import Connection, Table, column, table, update
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from trellis.metadata.model import FieldDef, ObjectDef
from trellis.metadata.objects import MAX_IDENTIFIER, index_name
from trellis.platform.db import check_foreign_keys
from trellis.platform.system_tables import tenant_metadata
from trellis.runtime.storage.convert import Converter
from trellis.runtime.storage.tables import field_column, foreign_key_name, storage_type


@dataclass
class StepContext:
    conn: Connection
    ops: Operations
    tables: Mapping[str, Table]  # the new release's tables, by object name

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name


def aside_name(name: str, release: int) -> str:
    """The name a retired column or table is kept under."""
    candidate = f"{name}__retired_r{release}"
    return candidate if len(candidate) <= MAX_IDENTIFIER else index_name("r", name, (f"r{release}",))


@dataclass(frozen=True)
class Step:
    """One storage change. `destructive` steps need `--allow-destructive`."""

    object: str

    @property
    def destructive(self) -> bool:
        return False

    @property
    def rebuilds_on_sqlite(self) -> bool:
        return False

    def describe(self) -> str:
        raise NotImplementedError

    def apply(self, ctx: StepContext) -> None:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {"step": type(self).__name__, "object": self.object, "text": self.describe(),
                "destructive": self.destructive}


@dataclass(frozen=True)
class CreateObjectTable(Step):
    """CREATE TABLE with its indexes. Foreign keys to tables that do not exist yet (a cycle among
    new objects) are left to an `AddForeignKey` step on PostgreSQL; SQLite accepts them inline."""

    deferred_foreign_keys: tuple[str, ...] = ()  # field names

    def describe(self) -> str:
        return f"create table obj_{self.object}"

    def apply(self, ctx: StepContext) -> None:
        table_ = ctx.tables[self.object]
        inline = [fk for fk in table_.foreign_key_constraints
                  if fk.column_keys[0] not in self.deferred_foreign_keys]
        ctx.conn.execute(CreateTable(table_, include_foreign_key_constraints=inline))
        for index in sorted(table_.indexes, key=lambda i: i.name or ""):
            ctx.conn.execute(CreateIndex(index))


@dataclass(frozen=True)
class AddForeignKey(Step):
    field: str

    def describe(self) -> str:
        return f"add foreign key obj_{self.object}.{self.field}"

    def apply(self, ctx: StepContext) -> None:
        table_ = ctx.tables[self.object]
        for fk in table_.foreign_key_constraints:
            if fk.column_keys == [self.field]:
                ctx.conn.execute(AddConstraint(fk))


@dataclass(frozen=True)
class AddColumn(Step):
    field: FieldDef
    definition: ObjectDef

    @property
    def rebuilds_on_sqlite(self) -> bool:
        return self.field.ref is not None

    def describe(self) -> str:
        note = " (rebuilds the table on SQLite)" if self.rebuilds_on_sqlite else ""
        return f"add column obj_{self.object}.{self.field.name}{note}"

    def apply(self, ctx: StepContext) -> None:
        new_column = field_column(self.definition, self.field)
        if ctx.dialect == "sqlite" and self.field.ref is not None:
            # SQLite cannot add a constraint to an existing table: copy it into a new one.
            with ctx.ops.batch_alter_table(f"obj_{self.object}", recreate="always") as batch:
                batch.add_column(new_column)
            check_foreign_keys(ctx.conn, f"obj_{self.object}")
        else:
            ctx.ops.add_column(f"obj_{self.object}", new_column)


@dataclass(frozen=True)
class RetireColumn(Step):
    """Keep a removed field's values aside: drop its foreign key, rename the column."""

    field: FieldDef
    definition: ObjectDef  # the old definition, where the field still exists
    release: int
    reason: str = "field removed"
    is_destructive: bool = True

    @property
    def destructive(self) -> bool:
        return self.is_destructive

    @property
    def rebuilds_on_sqlite(self) -> bool:
        return self.field.ref is not None

    @property
    def aside(self) -> str:
        return aside_name(self.field.name, self.release)

    def describe(self) -> str:
        return (f"keep obj_{self.object}.{self.field.name} aside as {self.aside} ({self.reason}; "
                "values are kept until purged)")

    def apply(self, ctx: StepContext) -> None:
        name = f"obj_{self.object}"
        fk = foreign_key_name(self.definition, self.field) if self.field.ref else None
        if ctx.dialect == "sqlite":
            ctx.ops.alter_column(name, self.field.name, new_column_name=self.aside)
            if fk:
                with ctx.ops.batch_alter_table(name, recreate="always") as batch:
                    batch.drop_constraint(fk, type_="foreignkey")
                check_foreign_keys(ctx.conn, name)
        else:
            if fk:
                ctx.ops.drop_constraint(fk, name, type_="foreignkey")
            ctx.ops.alter_column(name, self.field.name, new_column_name=self.aside)


@dataclass(frozen=True)
class RenameColumn(Step):
    """A field renamed (`x-renamed-from`): the column, its foreign key and the field's history
    rows take the new name; no value moves, so nothing is destructive. Indexes naming the field
    are dropped before and made again after (their names carry the field's)."""

    old: str
    new: str
    before: ObjectDef  # the old definition (the field under its old name)
    after: ObjectDef

    def describe(self) -> str:
        return f"rename obj_{self.object}.{self.old} to {self.new} (values and history kept)"

    def apply(self, ctx: StepContext) -> None:
        name = f"obj_{self.object}"
        old_field, new_field = self.before.fields[self.old], self.after.fields[self.new]
        old_fk = foreign_key_name(self.before, old_field) if old_field.ref else None
        new_fk = foreign_key_name(self.after, new_field) if new_field.ref else None
        ctx.ops.alter_column(name, self.old, new_column_name=self.new)
        if old_fk and new_fk and old_fk != new_fk:
            if ctx.dialect == "sqlite":  # SQLite renames the column inside the constraint, not the constraint
                with ctx.ops.batch_alter_table(name, recreate="always") as batch:
                    batch.drop_constraint(old_fk, type_="foreignkey")
                    batch.create_foreign_key(new_fk, f"obj_{new_field.ref}", [self.new], ["id"])
                check_foreign_keys(ctx.conn, name)
            else:
                ctx.conn.exec_driver_sql(f'ALTER TABLE "{name}" RENAME CONSTRAINT "{old_fk}" TO "{new_fk}"')
        for history in _field_tables():
            ctx.conn.execute(update(history).where(history.c.object == self.object, history.c.field == self.old)
                             .values(field=self.new))


@dataclass(frozen=True)
class RenameTable(Step):
    """An object renamed (`x-renamed-from`): its table, primary and foreign keys take the new
    name, and the platform's rows about its records (audit, history, runs, approvals, tasks)
    name the new object. Indexes carry the object's name: the plan drops and makes them again."""

    source: str
    before: ObjectDef  # the old definition
    renamed: ObjectDef  # the old definition under the new name

    def describe(self) -> str:
        return f"rename table obj_{self.source} to obj_{self.object} (records and history kept)"

    def apply(self, ctx: StepContext) -> None:
        old_table, new_table = f"obj_{self.source}", f"obj_{self.object}"
        ctx.ops.rename_table(old_table, new_table)
        lookups = [f for f in self.before.stored_fields if f.ref]
        if ctx.dialect == "sqlite":
            if lookups:  # SQLite keeps a constraint's name in the table's text: rebuild it
                with ctx.ops.batch_alter_table(new_table, recreate="always") as batch:
                    for f in lookups:
                        batch.drop_constraint(foreign_key_name(self.before, f), type_="foreignkey")
                        target = self.object if f.ref == self.source else f.ref
                        batch.create_foreign_key(foreign_key_name(self.renamed, f), f"obj_{target}", [f.name], ["id"])
                check_foreign_keys(ctx.conn, new_table)
        else:
            ctx.conn.exec_driver_sql(f'ALTER INDEX "{old_table}_pkey" RENAME TO "{new_table}_pkey"')
            for f in lookups:
                ctx.conn.exec_driver_sql(f'ALTER TABLE "{new_table}" RENAME CONSTRAINT '
                                         f'"{foreign_key_name(self.before, f)}" TO "{foreign_key_name(self.renamed, f)}"')
        for about in _object_tables():
            ctx.conn.execute(update(about).where(about.c.object == self.source).values(object=self.object))


def _object_tables() -> list[Table]:
    """The platform's tables that name the object of a record (audit, history, runs, ...)."""
    return [t for t in tenant_metadata.sorted_tables if "object" in t.c]


def _field_tables() -> list[Table]:
    """The platform's tables that name a field of a record (object, field): field history."""
    return [t for t in tenant_metadata.sorted_tables if {"object", "field"} <= set(t.c.keys())]


@dataclass(frozen=True)
class ChangeColumnType(Step):
    """A field whose storage type changed: the old column is kept aside, a new one is added and
    filled by converting the old values where a lossless or declared conversion exists."""

    old: FieldDef
    new: FieldDef
    old_definition: ObjectDef
    new_definition: ObjectDef
    release: int
    converter: Converter | None
    is_destructive: bool

    @property
    def destructive(self) -> bool:
        return self.is_destructive

    @property
    def rebuilds_on_sqlite(self) -> bool:
        return self.old.ref is not None or self.new.ref is not None

    def describe(self) -> str:
        how = f"values converted ({self.converter.describe()})" if self.converter else "new column starts empty"
        return (f"change type of obj_{self.object}.{self.new.name}: {storage_type(self.old)} -> "
                f"{storage_type(self.new)}; old values kept as {aside_name(self.old.name, self.release)}; {how}")


    def apply(self, ctx: StepContext) -> None:
        retire = RetireColumn(self.object, self.old, self.old_definition, self.release, "type changed")
        retire.apply(ctx)
        AddColumn(self.object, self.new, self.new_definition).apply(ctx)
        if self.converter is not None:
            t = table(f"obj_{self.object}", column(retire.aside), column(self.new.name))
            value = self.converter.expression(column(retire.aside), ctx.dialect)
            ctx.conn.execute(update(t).values({self.new.name: value}))


@dataclass(frozen=True)
class CreateIndexStep(Step):
    index: str

    def describe(self) -> str:
        return f"create index {self.index} on obj_{self.object}"

    def apply(self, ctx: StepContext) -> None:
        for index in ctx.tables[self.object].indexes:
            if index.name == self.index:
                ctx.conn.execute(CreateIndex(index))
                return
        raise LookupError(f"index {self.index} is not defined on obj_{self.object}")


@dataclass(frozen=True)
class DropIndexStep(Step):
    index: str

    def describe(self) -> str:
        return f"drop index {self.index} on obj_{self.object}"

    def apply(self, ctx: StepContext) -> None:
        ctx.ops.drop_index(self.index, table_name=f"obj_{self.object}")


@dataclass(frozen=True)
class RetireTable(Step):
    """Keep a removed object's rows aside: rename the table, drop its indexes (they are not data,
    and their names would collide with a future object of the same name)."""

    release: int
    index_names: tuple[str, ...] = ()

    destructive = True

    @property
    def aside(self) -> str:
        return aside_name(f"obj_{self.object}", self.release)

    def describe(self) -> str:
        return f"keep table obj_{self.object} aside as {self.aside} (object removed; rows are kept until purged)"

    def apply(self, ctx: StepContext) -> None:
        for index in self.index_names:
            ctx.ops.drop_index(index, table_name=f"obj_{self.object}")
        ctx.ops.rename_table(f"obj_{self.object}", self.aside)
        if ctx.dialect == "postgresql":
            ctx.conn.exec_driver_sql(
                f'ALTER INDEX "obj_{self.object}_pkey" RENAME TO "{aside_name(f"obj_{self.object}_pkey", self.release)}"'
            )


@dataclass(frozen=True)
class RenameChoices(Step):
    """A picklist's choices renamed (`x-renamed-choices`): the records holding an old choice
    take the new one (their version moves on, so an edit begun before cannot write the old
    choice back unseen). History rows keep the value as it was."""

    field: str
    moves: tuple[tuple[str, str], ...]  # (old choice, new choice)

    def describe(self) -> str:
        moves = ", ".join(f"{old} -> {new}" for old, new in self.moves)
        return f"rename choices of obj_{self.object}.{self.field}: {moves} (records holding them are updated)"

    def apply(self, ctx: StepContext) -> None:
        rows = ctx.tables[self.object]
        column = rows.c[self.field]
        for old, new in self.moves:
            ctx.conn.execute(update(rows).where(column == old).values({self.field: new, "version": rows.c.version + 1}))


@dataclass(frozen=True)
class TightenField(Step):
    """A validation-only narrowing (enum values removed, a shorter maxLength, ...): no DDL, but
    rows written before may no longer validate, so it counts as destructive."""

    field: str
    reasons: tuple[str, ...]

    destructive = True

    def describe(self) -> str:
        return (f"narrow obj_{self.object}.{self.field}: {'; '.join(self.reasons)} "
                "(existing values are kept but may fail validation when next edited)")

    def apply(self, ctx: StepContext) -> None:
        return None
