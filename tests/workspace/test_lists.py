"""Generated list pages over HTTP: columns from metadata, filters, sorting, paging, CSV, saved
views, and permissions (own records only; a hidden field is absent everywhere)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.designer.conftest import Browser, csrf_of
from tests.workspace.conftest import CLERK, PASSWORD, REP, Workspace

pytestmark = pytest.mark.anyio


def numbers(html: str) -> list[str]:
    return re.findall(r">(HT-[A-Z]\d+)<", html)


async def test_a_rep_lists_only_their_own_contracts(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract?lang=en")
    assert page.status_code == 200, page.text[:500]
    assert sorted(numbers(page.text)) == ["HT-R20", "HT-R200", "HT-R60", "HT-R7"]
    assert "<th><a" in page.text and ">End date" in page.text and ">Amount" in page.text
