"""A published CRM-like schema and a records service over it, on both databases."""

from __future__ import annotations

import pytest

from tests.helpers import metadata_set
from tests.runtime.crm import NOW, OBJECTS
from trellis.platform.db import Database
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import build_registry
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import write_hooks


@pytest.fixture
def service(tenant_db: Database) -> RecordsService:
    store = MetadataStore(tenant_db)
    store.publish(metadata_set(**OBJECTS), author="test")
    registry = build_registry("acme", store.current())  # type: ignore[arg-type]
    return RecordsService(tenant_db, registry, "Asia/Shanghai", "zh-CN", clock=lambda: NOW, hooks=write_hooks())
