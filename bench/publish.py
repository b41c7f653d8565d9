"""publish_100x30: publishing a wide release (100 objects x 30 fields) and then a small change to all of it.

Rows:
* `publish`   first release on a fresh tenant (validate, diff, plan, DDL, release record) vs
              `MetaData.create_all` of the same tables in one transaction on a fresh database;
* `validate`  `validate_set` alone, against the same create_all baseline, so it reads as the
              share of `publish` spent validating;
* `add_field` a second release adding one text field to every object vs 100 raw
              `ALTER TABLE ... ADD COLUMN` in one transaction.
"""

from __future__ import annotations

from bench.backends import Backend, BaselineDb, check_same_storage
from bench.generate import EXTRA_FIELD, wide_set, with_extra_field
from bench.harness import Result, Sizes, Stopwatch, TimedRun, compare
from bench.raw import add_column_sql, create_all
from trellis.metadata.model import MetadataSet
from trellis.metadata.validation import META_VALIDATORS, validate_set
from trellis.platform.db import Database
from trellis.runtime.releases import MetadataStore
from trellis.runtime.storage import build_tables

NAME = "publish_100x30"


def fresh(metadata: MetadataSet) -> MetadataSet:
    """An equal set with empty caches (compiled objects, hashes): each run does the whole work."""
    return MetadataSet(dict(metadata.items()))


class _Last:
    """The storage of the last repetition of each side, compared once timing is over."""

    db: Database | None = None
    base: BaselineDb | None = None

    def check(self) -> None:
        assert self.db is not None and self.base is not None
        check_same_storage(self.db, self.base)


def trellis_first_publish(backend: Backend, metadata: MetadataSet, last: _Last) -> TimedRun:
    def run(i: int, watch: Stopwatch) -> None:
        last.db = backend.tenant(f"p{i}")
        store, release = MetadataStore(last.db), fresh(metadata)
        with watch:
            store.publish(release, author="bench", message="release 1")
    return run


def baseline_create_all(backend: Backend, metadata: MetadataSet, last: _Last) -> TimedRun:
    def run(i: int, watch: Stopwatch) -> None:
        last.base = backend.baseline(f"p{i}")
        tables = build_tables(metadata.objects)
        with watch:
            with last.base.transaction() as conn:
                create_all(conn, tables)
    return run


def validation(metadata: MetadataSet) -> TimedRun:
    def run(i: int, watch: Stopwatch) -> None:
        release = fresh(metadata)
        with watch:
            errors = validate_set(release)
        if errors:
            raise AssertionError(f"the generated set is invalid: {errors[:3]}")
    return run


def meta_schema_only(metadata: MetadataSet) -> TimedRun:
    """The floor of any validator: each document against the meta-schema, nothing else."""
    validator = META_VALIDATORS["object"]

    def run(i: int, watch: Stopwatch) -> None:
        with watch:
            for _key, document in metadata.items():
                for _error in validator.iter_errors(document):
                    raise AssertionError("the generated set is invalid")
    return run


def trellis_add_field(backend: Backend, before: MetadataSet, after: MetadataSet, last: _Last) -> TimedRun:
    def run(i: int, watch: Stopwatch) -> None:
        last.db = backend.tenant(f"a{i}")
        store = MetadataStore(last.db)
        store.publish(fresh(before), author="bench", message="release 1")
        release = fresh(after)
        with watch:
            store.publish(release, author="bench", message="one more field everywhere")
    return run


def baseline_add_field(backend: Backend, before: MetadataSet, after: MetadataSet, last: _Last) -> TimedRun:
    new_tables = build_tables(after.objects)

    def run(i: int, watch: Stopwatch) -> None:
        last.base = backend.baseline(f"a{i}")
        with last.base.transaction() as conn:
            create_all(conn, build_tables(before.objects))
        dialect = last.base.engine.dialect
        statements = [add_column_sql(dialect, t.name, t.c[EXTRA_FIELD]) for t in new_tables.values()]
        with watch:
            with last.base.transaction() as conn:
                for sql in statements:
                    conn.exec_driver_sql(sql)
    return run


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    """All rows of this benchmark on one backend."""
    metadata = wide_set(sizes.objects, sizes.fields)
    after = with_extra_field(metadata)
    shape = f"{sizes.objects} objects x {sizes.fields} fields"
    last = _Last()

    publish_s, create_s = compare(trellis_first_publish(backend, metadata, last),
                                  baseline_create_all(backend, metadata, last), sizes.repeat)
    last.check()
    validate_s, floor_s = compare(validation(metadata), meta_schema_only(metadata), sizes.cpu_repeat)
    add_s, alter_s = compare(trellis_add_field(backend, metadata, after, last),
                             baseline_add_field(backend, metadata, after, last), sizes.repeat)
    last.check()
    best = f"best of {sizes.repeat}"
    return [
        Result(f"{NAME}/validate", backend.name, validate_s, create_s,
               f"validate_set vs the create_all baseline; jsonschema meta-schema pass alone {floor_s:.4f}s "
               f"({validate_s / floor_s:.1f}x); best of {sizes.cpu_repeat}"),
        Result(f"{NAME}/publish", backend.name, publish_s, create_s,
               f"{shape}, fresh tenant vs create_all; {best}"),
        Result(f"{NAME}/add_field", backend.name, add_s, alter_s,
               f"release 2: +1 field on each of {sizes.objects} objects vs raw ALTER x{sizes.objects}; {best}"),
    ]
