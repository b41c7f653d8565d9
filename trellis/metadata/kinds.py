"""The registry of metadata kinds: every kind of item the platform knows, each registered once.

Loading (which folder holds which kind), export, validation and the messages that list the known
kinds all read `KINDS`; none of them names a kind. A kind is a `Kind` (`trellis.metadata.kind`):
its name, its folder, its meta-schema, a name rule, a check of one document and a check against
the whole set.

How to add a kind (`workflow_rule` is the example to copy):

1. Write its meta-schema, `trellis/metadata/meta_schemas/<kind>.schema.json` (JSON Schema
   2020-12): everything a schema can say about one document, with `"additionalProperties": false`
   so typos are caught. A `description` on a value should say what the value must be ("an API
   name: lower case letters, …"): errors then read "expected an API name: …; got …".

2. Write its module, `trellis/metadata/<kind>s.py` (see `workflow_rules.py`), ending in its `KIND`:

       KIND = Kind(
           name="workflow_rule",        # the kind in (kind, name) item keys
           folder="workflow_rules",     # its files: workflow_rules/<name>.json
           meta_validator=meta_validator("workflow_rule"),  # built once, at import
           check_name=partial(check_object_name, what="workflow rule"),
           check_document=sound_document,
           check_set=check_rules,
       )

   - `check_name(name)` returns the sentence saying why a name is not allowed, or None.
     Uniqueness ignoring case is checked for every kind.
   - `check_document(name, document, broken, report)` runs once the document is plain JSON and
     has been checked against its meta-schema; `broken` holds the JSON paths the meta-schema
     refused (they are reported; skip them). It reports, with `report.add(path_parts, sentence)`,
     what else is wrong with this one document, and returns the item's *sound view*: whatever
     the set checks will need (the document itself for `sound_document`, which returns None
     when any part is broken; an `ObjectView` for objects; the sound grants for roles). None
     leaves the item out of the set checks.
   - `check_set(view)` runs after every document has been seen and yields
     `(name, path_parts, sentence)` for items of its own kind. `view.sound(kind)` holds the
     sound views of any kind (a workflow rule reads the objects' fields, through
     `object_checks.sound_objects(view)`); `view.all_names(kind)` every name of a kind in the
     set, also of items too broken to check or unreadable, which are no error to name.
     A kind may name a kind not registered yet: a `start_approval` action names an
     `approval_process`, and is refused until one by that name exists.

   Keep the sentences in the platform's voice: what was expected, what was found, and a
   "did you mean" (`trellis.metadata.suggestions`) when a name is close to a known one.

3. Add its `KIND` to `KINDS` below. The folder layout, `load_folder`, `write_folder` and
   `validate_set` follow from the registry; nothing else needs an edit.

4. Test it as `tests/metadata/test_metadata_workflow_rules.py` does: a sound document of each
   shape passes, and each mistake gives exactly one error, with its file, JSON path and sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from trellis.metadata import approval_processes, metrics, object_kind, roles, score_models, workflow_rules
from trellis.metadata.kind import Kind

#: Every kind, by name, in the order of their folders on disk.
KINDS: Mapping[str, Kind] = MappingProxyType({
    kind.name: kind for kind in (object_kind.KIND, roles.KIND, workflow_rules.KIND, approval_processes.KIND,
                                 score_models.KIND,
                                 metrics.KIND)
})

#: Each kind and the folder that holds its files, and the other way round.
KIND_FOLDERS: Mapping[str, str] = MappingProxyType({kind.name: kind.folder for kind in KINDS.values()})
FOLDER_KINDS: Mapping[str, str] = MappingProxyType({kind.folder: kind.name for kind in KINDS.values()})

__all__ = ["FOLDER_KINDS", "KINDS", "KIND_FOLDERS", "Kind"]
