"""The metadata validation's verdict on one item as a form would change it.

A form's item is checked inside the drafts as they would be with the change (so references to
other drafted items resolve), and only the errors of that item's own file are kept: what another
draft gets wrong is the publish page's business, not this form's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.metadata.errors import MetadataError
from trellis.metadata.model import MetadataSet
from trellis.metadata.validation import source_file, validate_set


def item_errors(drafts: MetadataSet, kind: str, name: str, document: Mapping[str, Any]) -> list[MetadataError]:
    items = dict(drafts.items())
    items[(kind, name)] = document
    file = source_file((kind, name))
    return [error for error in validate_set(MetadataSet(items)) if error.file == file]
