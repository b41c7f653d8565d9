"""A published CRM-like schema and a records service over it, on both databases."""

from __future__ import annotations

import pytest

from tests.runtime.crm import published_service
from trellis.platform.db import Database
from trellis.runtime.records.service import RecordsService


@pytest.fixture
def service(tenant_db: Database) -> RecordsService:
    return published_service(tenant_db)
