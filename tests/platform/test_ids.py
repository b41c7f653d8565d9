import uuid

from trellis.platform.ids import new_id


def test_ids_are_uuid7_and_sort_in_creation_order():
    ids = [new_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert len(ids[0]) == 36
