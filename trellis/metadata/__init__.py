"""The metadata model: object definitions and other items as JSON documents, loaded and validated.

Pure: no database and no HTTP; imports only `trellis.platform` (tests/test_layers.py). `load_folder`/`load_documents` give a validated `MetadataSet` or
raise `MetadataInvalid` holding every `MetadataError` found.
"""

from trellis.metadata.errors import MetadataError, MetadataInvalid
from trellis.metadata.kinds import KIND_FOLDERS
from trellis.metadata.loader import load_documents, load_folder
from trellis.metadata.model import (
    FieldDef,
    FieldType,
    MetadataSet,
    ObjectDef,
)
from trellis.metadata.validation import validate_set

__all__ = [
    "KIND_FOLDERS",
    "FieldDef",
    "FieldType",
    "MetadataError",
    "MetadataInvalid",
    "MetadataSet",
    "ObjectDef",
    "load_documents",
    "load_folder",
    "validate_set",
]
