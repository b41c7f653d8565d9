"""Drafts: staged edits on top of the current release, published together or not at all."""

from __future__ import annotations

import pytest

from tests.helpers import metadata_set, obj
from trellis.metadata.errors import MetadataInvalid
from trellis.platform.db import Database
from trellis.runtime.releases import DestructiveChangeRefused, MetadataStore

ACCOUNT = obj({"name": {"type": "string"}})
CONTACT = obj({"name": {"type": "string"}, "account": {"type": "string", "x-ref": "account"}})


@pytest.fixture
def store(tenant_db: Database) -> MetadataStore:
    store = MetadataStore(tenant_db)
    store.publish(metadata_set(account=ACCOUNT), author="t")
    return store


def test_drafts_apply_on_top_of_the_current_release(store: MetadataStore):
    store.save_draft("object", "contact", CONTACT, author="amy")
    assert store.draft_set() == metadata_set(account=ACCOUNT, contact=CONTACT)
    assert store.current().metadata == metadata_set(account=ACCOUNT)  # type: ignore[union-attr]
    store.save_draft("object", "contact", None, author="amy")  # staging a removal of a new item
    assert store.draft_set() == metadata_set(account=ACCOUNT)
    store.discard_drafts()
    assert store.drafts() == {}


def test_publishing_drafts_clears_them_in_the_same_transaction(store: MetadataStore):
    store.save_draft("object", "contact", CONTACT, author="amy")
    result = store.publish_drafts(author="amy", message="contacts")
    assert result.release is not None and result.release.number == 2 and result.release.source == "drafts"
    assert store.drafts() == {}
    assert "obj_contact" in store.db.table_names()


def test_invalid_or_refused_drafts_stay_drafts(store: MetadataStore):
    store.save_draft("object", "contact", obj({"account": {"type": "string", "x-ref": "nowhere"}}), author="amy")
    with pytest.raises(MetadataInvalid, match="nowhere"):
        store.publish_drafts(author="amy")
    assert ("object", "contact") in store.drafts()
    store.discard_drafts()
    store.save_draft("object", "account", None, author="amy")
    with pytest.raises(DestructiveChangeRefused):
        store.publish_drafts(author="amy")
    assert store.drafts() == {("object", "account"): None}
    assert store.current_number() == 1
    store.publish_drafts(author="amy", allow_destructive=True)
    assert store.drafts() == {} and store.current_number() == 2
