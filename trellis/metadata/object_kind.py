"""The `object` kind: object definitions, `objects/<name>.json`, each a JSON Schema of its records.

Its checks live beside it: one document in `object_checks`, the set in `object_references`;
`objects` reads a validated document into typed definitions.
"""

from __future__ import annotations

from trellis.metadata.kind import Kind
from trellis.metadata.metaschemas import meta_validator
from trellis.metadata.names import check_object_name
from trellis.metadata.object_checks import check_object
from trellis.metadata.object_references import check_objects

KIND = Kind(
    name="object",
    folder="objects",
    meta_validator=meta_validator("object"),
    check_name=check_object_name,
    check_document=check_object,
    check_set=check_objects,
)
