"""HTTP for the GraphQL APIs: `/t/<tenant>/graphql` (data) and `/t/<tenant>/metadata/graphql`.

Per request, in this order: the bearer token names the actor (401 without a valid one, 403 for a
non-admin on the metadata API), from the headers alone; only then is the body read, at most
`MAX_BODY` bytes as it streams in (bodies.py), so an anonymous client cannot make the server
read, let alone hold, a large body. Refused before its body was read, a request is answered with
`Connection: close`. The token's check also reads the tenant's current release number (one
statement for token, user, roles and release), so the request serves that release's registry and
schema without a second look, and keeps them until it ends, even if a publish swaps in a newer
one meanwhile. GET from a browser opens GraphiQL (the page holds no
data; the token goes in its headers pane). Database work runs in the thread pool; the event loop
only parses, executes and answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from trellis.platform.statement_timeout import StatementTimeout
from trellis.platform.tenancy import TenantError
from trellis.runtime.access import Actor
from trellis.runtime.errors import RuntimeProblem
from trellis.runtime.graphql import RequestContext, SchemaCache, TenantSchema, error_body, format_errors
from trellis.runtime.graphql.compiled import CompiledReads
from trellis.runtime.graphql.context import in_thread
from trellis.runtime.graphql.metadata_api import SCHEMA as METADATA_SCHEMA
from trellis.runtime.graphql.metadata_api import MetadataContext
from trellis.runtime.identity.errors import Unauthenticated
from trellis.runtime.identity.tokens import bearer_secret
from trellis.runtime.records.service import RecordsService
from trellis.runtime.services import TenantServices
from trellis.server.bodies import read_body
from trellis.server.graphiql import graphiql
from trellis.server.problems import HttpProblem

log = logging.getLogger("trellis.graphql")
MAX_BODY = 1_000_000  # bytes of one request; the token limit refuses far smaller queries anyway
T = TypeVar("T")


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    get: bool


def _bearer(request: Request) -> str:
    token = bearer_secret(request.headers.get("authorization"))
    if token is None:
        raise HttpProblem(401, "UNAUTHENTICATED", "send an API token: Authorization: Bearer <token> "
                                                  "(create one with `trellis token create`)")
    return token


def _parse(request: Request, body: bytes) -> GraphQLRequest:
    if request.method == "GET":
        source: Mapping[str, Any] = request.query_params
        variables: Any = source.get("variables")
        if variables:
            try:
                variables = json.loads(variables)
            except ValueError:
                raise HttpProblem(400, "BAD_REQUEST", "variables: expected a JSON object") from None
    else:
        try:
            source = json.loads(body or b"null")
        except ValueError:
            raise HttpProblem(400, "BAD_REQUEST", "the body is not JSON; send {\"query\": \"...\", "
                                                  "\"variables\": {...}} as application/json") from None
        if not isinstance(source, dict):
            raise HttpProblem(400, "BAD_REQUEST", "expected a JSON object with a \"query\"")
        variables = source.get("variables")
    query, operation = source.get("query"), source.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise HttpProblem(400, "BAD_REQUEST", "no GraphQL query: send {\"query\": \"...\"}")
    if variables is not None and not isinstance(variables, dict):
        raise HttpProblem(400, "BAD_REQUEST", "variables: expected a JSON object")
    if operation is not None and not isinstance(operation, str):
        raise HttpProblem(400, "BAD_REQUEST", "operationName: expected a string")
    return GraphQLRequest(query, variables, operation, request.method == "GET")


def _wants_ide(request: Request) -> bool:
    return request.method == "GET" and "query" not in request.query_params and \
        "text/html" in request.headers.get("accept", "")


async def _execute(schema: TenantSchema, graphql: GraphQLRequest, context: object,
                   reads: CompiledReads | None = None) -> Response:
    """The answer to a request: from the compiled read path when it can (`reads`, for the data
    API), else from Strawberry over graphql-core."""
    if reads is not None and isinstance(context, RequestContext):
        answer = await in_thread(reads.answer, schema, graphql.query, graphql.variables, graphql.operation_name,
                                 context)
        if answer is not None:
            return Response(answer, media_type="application/json")
    allowed = (OperationType.QUERY,) if graphql.get else (OperationType.QUERY, OperationType.MUTATION)
    try:
        result = await schema.execute(graphql.query, variable_values=graphql.variables, context_value=context,
                                      operation_name=graphql.operation_name, allowed_operation_types=allowed)
    except InvalidOperationTypeError:
        raise HttpProblem(405, "BAD_REQUEST", "only queries may be sent with GET; send mutations with POST") from None
    except CannotGetOperationTypeError as error:
        raise HttpProblem(400, "BAD_REQUEST", error.as_http_error_reason()) from None
    except MissingQueryError:
        raise HttpProblem(400, "BAD_REQUEST", "no GraphQL query: send {\"query\": \"...\"}") from None
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = format_errors(result.errors)
    return JSONResponse(body)


class GraphQLEndpoints:
    """The GraphQL routes of one installation, with its schema cache."""

    def __init__(self, services: TenantServices, schemas: SchemaCache | None = None,
                 compiled_reads: bool | CompiledReads = True):
        """`compiled_reads`: answer the read queries it compiles without graphql-core (see
        `trellis.runtime.graphql.compiled`), with these plans (tests read their `stats`) or new
        ones; False: every request goes through Strawberry."""
        self.services = services
        self.schemas = schemas or SchemaCache()
        self.reads = compiled_reads if isinstance(compiled_reads, CompiledReads) else \
            CompiledReads() if compiled_reads else None

    def routes(self) -> list[Route]:
        return [Route("/t/{tenant}/graphql", self.data, methods=["GET", "POST"]),
                Route("/t/{tenant}/metadata/graphql", self.metadata, methods=["GET", "POST"])]

    def _actor(self, tenant: str, token: str) -> tuple[Actor, int | None]:
        """The token's actor and the tenant's current release, read together."""
        try:
            self.services.tenant(tenant)
        except TenantError:
            raise HttpProblem(404, "NOT_FOUND", f"no tenant named {tenant!r}") from None
        try:
            return self.services.users(tenant).authenticate_token(token)
        except Unauthenticated as error:
            raise HttpProblem(401, "UNAUTHENTICATED", str(error)) from None

    def _prepare(self, tenant: str, token: str) -> tuple[Actor, RecordsService]:
        actor, release = self._actor(tenant, token)
        try:
            return actor, self.services.records(tenant, release=release)
        except RuntimeProblem as error:  # no release yet
            raise HttpProblem(404, error.code, error.message) from None

    def _admin(self, tenant: str, token: str) -> MetadataContext:
        actor, _ = self._actor(tenant, token)
        if not actor.policy.is_admin:
            raise HttpProblem(403, "FORBIDDEN", "only admins may use the metadata API")
        return MetadataContext(tenant, actor, self.services.store(tenant), self.services.users(tenant))

    async def data(self, request: Request) -> Response:
        async def run(prepared: tuple[Actor, RecordsService], graphql: GraphQLRequest) -> Response:
            actor, records = prepared
            schema = self.schemas.cached(records.registry)
            if schema is None:  # first request on this release: build off the event loop
                schema = await in_thread(self.schemas.get, records.registry)
            context = RequestContext(request.path_params["tenant"], actor, records)
            return await _execute(schema, graphql, context, self.reads)
        return await _serve(request, self._prepare, run)

    async def metadata(self, request: Request) -> Response:
        async def run(context: MetadataContext, graphql: GraphQLRequest) -> Response:
            return await _execute(METADATA_SCHEMA, graphql, context)
        return await _serve(request, self._admin, run)


async def _serve(request: Request, authorize: Callable[[str, str], T],
                 run: Callable[[T, GraphQLRequest], Awaitable[Response]]) -> Response:
    """GraphiQL for a browser; else `authorize` (tenant, token) from the headers, then the body,
    then `run`. Problems found on the way answer with their status and a GraphQL-shaped error
    body; one found before the body was read closes the connection."""
    if _wants_ide(request):
        return graphiql()
    body_read = request.method == "GET"
    try:
        allowed = await in_thread(authorize, request.path_params["tenant"], _bearer(request))
        body = b"" if body_read else await read_body(request, MAX_BODY)
        body_read = True
        return await run(allowed, _parse(request, body))
    except HttpProblem as problem:
        return problem.response(close=not body_read)
    except StatementTimeout as error:  # checking the token took too long: the database is overloaded
        return HttpProblem(503, "TIMEOUT", str(error)).response(close=not body_read)
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is listening any more
    except Exception:  # a bug, or the database is down: logged, and still a GraphQL-shaped answer
        log.exception("GraphQL request to %s failed", request.url.path)
        return JSONResponse(error_body("INTERNAL_SERVER_ERROR", "internal error: the details are in the server's log"),
                            status_code=500, headers={} if body_read else {"Connection": "close"})
