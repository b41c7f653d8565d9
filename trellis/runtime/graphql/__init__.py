"""The GraphQL API generated from metadata: one schema per (tenant, release).

`build_schema` (schema) makes it, `SchemaCache` keeps it; `RequestContext` (context) is what its
resolvers work with; `format_errors` (errors) turns failures into errors with stable codes.
"""

from trellis.runtime.graphql.context import RequestContext
from trellis.runtime.graphql.errors import error_body, format_errors
from trellis.runtime.graphql.schema import SchemaCache, TenantSchema, build_schema

__all__ = ["RequestContext", "SchemaCache", "TenantSchema", "build_schema", "error_body", "format_errors"]
