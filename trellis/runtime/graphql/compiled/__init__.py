"""A compiled read path beside graphql-core: common read queries answered without its executor.

A query document (parsed and validated through the same caches as the Strawberry path) is
compiled once per (schema, i.e. tenant and release; document text; operation; the values of the
variables its `@skip`/`@include` read) into a plan (plan.py, made by compiler.py) that run.py
executes with the same records-service and loader calls the resolvers make, writing the
response straight to JSON. Anything the compiler does not know, and any request whose run meets
an error or a null where the schema promises a value, is answered by graphql-core instead
(reads have no side effects), so clients see the same JSON either way (reads.py).
"""

from trellis.runtime.graphql.compiled.reads import CompiledReads

__all__ = ["CompiledReads"]
