"""The compiled read path's front door: answers a request from a plan, or says graphql-core must.

Per request, in the thread pool: the document from the parse cache and its validation from the
validation cache the Strawberry path fills (`limits.py`), the same cost limit, the operation
picked as graphql-core picks it, the variables coerced by graphql-core's `get_variable_values`;
then the plan (compiled once per schema — so per tenant and release —, document text,
operation name and the values of the variables `@skip`/`@include` read; kept per schema, so a
publish never reuses a plan of the release before) runs, and the response is encoded with
orjson. `None` means graphql-core answers: a query it does not compile, invalid input, any error
while running (reads have no side effects, so running again is safe), a mutation.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from graphql import DocumentNode, FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, OperationType
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.values import VariableValues, get_variable_values

from trellis.runtime.graphql.compiled.compiler import Compiler, ReadIndex, Unsupported, directive_variables
from trellis.runtime.graphql.compiled.plan import Fallback, Plan
from trellis.runtime.graphql.compiled.run import Run
from trellis.runtime.graphql.context import RequestContext
from trellis.runtime.graphql.limits import CACHE_SIZE, Limits, over_cost, parse_cached, validate_cached

log = logging.getLogger("trellis.graphql")
_MISSING = object()
MAX_VARIANTS = 16  # plans kept per document (one per combination of @skip/@include values met)


class _Document:
    """What one (document text, operation name) gives, compiled lazily per directive values."""

    def __init__(self, document: DocumentNode, operation: OperationDefinitionNode):
        self.document = document
        self.operation = operation
        self.fragments = {d.name.value: FragmentDetails(d) for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.directive_variables = directive_variables(document)
        self.plans: dict[Hashable, Plan] = {}
        self.unsupported = False  # set when one compilation fails: graphql-core answers from then on


class _SchemaPlans:
    """The plans of one schema (one tenant's release), at most `CACHE_SIZE` documents."""

    def __init__(self, index: ReadIndex, max_cost: int | None):
        self.index = index
        self.max_cost = max_cost
        self.documents: OrderedDict[tuple[str, str | None], _Document | None] = OrderedDict()
        self.lock = threading.Lock()


def _max_cost(schema: Any) -> int | None:
    """The cost limit of the schema's `Limits` extension (None: it has none we know of)."""
    for extension in getattr(schema, "extensions", ()):
        if isinstance(extension, partial) and extension.func is Limits and "max_cost" in extension.keywords:
            return int(extension.keywords["max_cost"])
    return None


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation graphql-core would run (None where it would report an error instead)."""
    found = None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if name is None:
                if found is not None:
                    return None
                found = definition
            elif definition.name and definition.name.value == name:
                found = definition
    return found


class CompiledReads:
    """Plans per schema, and counts (`stats`): requests answered here (`compiled`) or by
    graphql-core (`fallback: <why>`), and plans compiled (`plans`)."""

    def __init__(self) -> None:
        self._schemas: WeakKeyDictionary[Any, _SchemaPlans] = WeakKeyDictionary()
        self._lock = threading.Lock()
        self.stats: Counter[str] = Counter()

    def answer(self, schema: Any, query: str, variables: dict[str, Any] | None, operation_name: str | None,
               context: RequestContext) -> bytes | None:
        """The response body, or None when graphql-core must answer (blocking: call it in a thread)."""
        try:
            body = self._answer(schema, query, variables, operation_name, context)
        except Fallback as reason:
            self.stats["fallback: run"] += 1
            log.debug("compiled read fell back: %s", reason)
            return None
        except Exception:  # a bug here must not cost the client its answer: graphql-core gives it
            self.stats["fallback: error"] += 1
            log.exception("compiled read failed; answered by graphql-core")
            return None
        if body is None:
            return None
        self.stats["compiled"] += 1
        return body

    def _miss(self, reason: str) -> bytes | None:
        """Count why graphql-core answers; None, for `return self._miss(...)`."""
        self.stats[f"fallback: {reason}"] += 1
        return None

    def _answer(self, schema: Any, query: str, variables: dict[str, Any] | None, operation_name: str | None,
                context: RequestContext) -> bytes | None:
        registry = context.records.registry
        if (getattr(schema, "tenant", None), getattr(schema, "release", None)) != (registry.tenant, registry.release):
            return self._miss("another release")
        plans = self._plans(schema, context)
        try:
            document = parse_cached(query)
        except GraphQLError:
            return self._miss("parse")
        key = (query, operation_name)
        known = plans.documents.get(key, _MISSING)
        if known is None or (isinstance(known, _Document) and known.unsupported):
            return self._miss("unsupported")  # known before validating: graphql-core validates it once
        core = schema._schema
        if plans.max_cost is None or validate_cached(core, document) or \
                over_cost(core, document, operation_name, variables, plans.max_cost):
            return self._miss("invalid")
        entry = self._document(plans, query, operation_name, document)
        if entry is None:
            return self._miss("unsupported")
        coerced = get_variable_values(core, entry.operation.variable_definitions or (), variables or {})
        if not isinstance(coerced, VariableValues):
            return self._miss("variables")
        plan = self._plan(schema, plans, entry, coerced, context)
        if plan is None:
            return self._miss("unsupported")
        if plan.reads:
            with context.records.db.read() as conn:  # one snapshot, one transaction for all the reads
                data = Run(plan, RequestContext(context.tenant, context.actor, context.records.within(conn)),
                           coerced, schema).data()
        else:  # `__typename` and the like: nothing to read
            data = Run(plan, context, coerced, schema).data()
        try:
            return orjson.dumps({"data": data})
        except TypeError:  # an integer beyond 64 bits: the json module writes it
            return self._miss("encoding")

    def _plans(self, schema: Any, context: RequestContext) -> _SchemaPlans:
        found = self._schemas.get(schema)
        if found is None:
            with self._lock:
                found = self._schemas.get(schema)
                if found is None:
                    found = self._schemas[schema] = _SchemaPlans(ReadIndex.of(context.records.registry),
                                                                 _max_cost(schema))
        return found

    @staticmethod
    def _document(plans: _SchemaPlans, query: str, operation_name: str | None,
                  document: DocumentNode) -> _Document | None:
        key = (query, operation_name)
        with plans.lock:
            if key in plans.documents:
                plans.documents.move_to_end(key)
                return plans.documents[key]
        operation = _operation(document, operation_name)
        entry = _Document(document, operation) if operation is not None and \
            operation.operation is OperationType.QUERY else None  # None: graphql-core runs (or refuses) it
        with plans.lock:
            plans.documents[key] = entry
            while len(plans.documents) > CACHE_SIZE:
                plans.documents.popitem(last=False)
        return entry

    def _plan(self, schema: Any, plans: _SchemaPlans, entry: _Document, variables: VariableValues,
              context: RequestContext) -> Plan | None:
        key = tuple(variables.coerced.get(name, _MISSING) for name in entry.directive_variables)
        if key in entry.plans:
            return entry.plans[key]
        try:
            plan = Compiler(schema._schema, context.records.registry, plans.index, entry.fragments,
                            entry.operation, variables).plan()
        except (Unsupported, GraphQLError) as reason:
            log.debug("not compiled: %s", reason)
            entry.unsupported = True
            return None
        if len(entry.plans) < MAX_VARIANTS:
            entry.plans[key] = plan
        self.stats["plans"] += 1
        return plan
