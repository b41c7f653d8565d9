"""Storage: the tables behind objects, and the plans that change them between releases."""

from trellis.runtime.storage.apply import StepObserver, apply_plan
from trellis.runtime.storage.plan import StoragePlan, plan_storage
from trellis.runtime.storage.steps import Step
from trellis.runtime.storage.tables import build_tables, standard_columns, storage_type

__all__ = [
    "Step", "StepObserver", "StoragePlan", "apply_plan", "build_tables",
    "plan_storage", "standard_columns", "storage_type",
]
