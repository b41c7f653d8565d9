"""HTTP for the GraphQL APIs: `/t/<tenant>/graphql` (data) and `/t/<tenant>/metadata/graphql`.

Per request: the bearer token names the actor (401 without a valid one); the tenant's current
registry is looked up (one `SELECT max(number)`) and with it the schema built for that release,
which the request keeps until it ends, even if a publish swaps in a newer one meanwhile. GET
from a browser opens GraphiQL (the page holds no data; the token goes in its headers pane).
Database work runs in the thread pool; the event loop only parses, executes and answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from trellis.platform.tenancy import TenantError
from trellis.runtime.access import Actor
from trellis.runtime.errors import RuntimeProblem
from trellis.runtime.graphql import RequestContext, SchemaCache, TenantSchema, error_body, format_errors
from trellis.runtime.graphql.context import in_thread
from trellis.runtime.graphql.metadata_api import SCHEMA as METADATA_SCHEMA
from trellis.runtime.graphql.metadata_api import MetadataContext
from trellis.runtime.identity.errors import Unauthenticated
from trellis.runtime.records.service import RecordsService
from trellis.runtime.services import TenantServices

log = logging.getLogger("trellis.graphql")
MAX_BODY = 1_000_000  # bytes of one request; the token limit refuses far smaller queries anyway
_TOKEN_HINT = '{"Authorization": "Bearer <your token: trellis token create>"}'


def _graphiql() -> str:
    html = get_graphql_ide_html()
    # open the headers pane pre-filled with the header the API needs
    html = html.replace("<title>Strawberry GraphiQL</title>", "<title>Trellis GraphQL</title>")
    return html.replace("React.useState(parameters.headers)",
                        f"React.useState(parameters.headers || {json.dumps(_TOKEN_HINT)})")


GRAPHIQL = _graphiql()


class HttpProblem(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="trellis"'} if self.status == 401 else None
        return JSONResponse(error_body(self.code, self.message), status_code=self.status, headers=headers)


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    get: bool


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpProblem(401, "UNAUTHENTICATED", "send an API token: Authorization: Bearer <token> "
                                                  "(create one with `trellis token create`)")
    return token.strip()


async def _read(request: Request) -> GraphQLRequest:
    if request.method == "GET":
        source: Mapping[str, Any] = request.query_params
        variables: Any = source.get("variables")
        if variables:
            try:
                variables = json.loads(variables)
            except ValueError:
                raise HttpProblem(400, "BAD_REQUEST", "variables: expected a JSON object") from None
    else:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise HttpProblem(413, "BAD_REQUEST", f"the request body is larger than {MAX_BODY} bytes")
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


async def _execute(schema: TenantSchema, graphql: GraphQLRequest, context: object) -> JSONResponse:
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

    def __init__(self, services: TenantServices, schemas: SchemaCache | None = None):
        self.services = services
        self.schemas = schemas or SchemaCache()

    def routes(self) -> list[Route]:
        return [Route("/t/{tenant}/graphql", self.data, methods=["GET", "POST"]),
                Route("/t/{tenant}/metadata/graphql", self.metadata, methods=["GET", "POST"])]

    def _actor(self, tenant: str, token: str) -> Actor:
        try:
            self.services.tenant(tenant)
        except TenantError:
            raise HttpProblem(404, "NOT_FOUND", f"no tenant named {tenant!r}") from None
        try:
            return self.services.users(tenant).actor_for_token(token)
        except Unauthenticated as error:
            raise HttpProblem(401, "UNAUTHENTICATED", str(error)) from None

    def _prepare(self, tenant: str, token: str) -> tuple[Actor, RecordsService]:
        actor = self._actor(tenant, token)
        try:
            return actor, self.services.records(tenant)
        except RuntimeProblem as error:  # no release yet
            raise HttpProblem(404, error.code, error.message) from None

    async def data(self, request: Request) -> Response:
        async def run(tenant: str, token: str, graphql: GraphQLRequest) -> Response:
            actor, records = await in_thread(self._prepare, tenant, token)
            schema = self.schemas.cached(records.registry)
            if schema is None:  # first request on this release: build off the event loop
                schema = await in_thread(self.schemas.get, records.registry)
            return await _execute(schema, graphql, RequestContext(tenant, actor, records))
        return await _serve(request, run)

    async def metadata(self, request: Request) -> Response:
        def admin(tenant: str, token: str) -> MetadataContext:
            actor = self._actor(tenant, token)
            if not actor.policy.is_admin:
                raise HttpProblem(403, "FORBIDDEN", "only admins may use the metadata API")
            return MetadataContext(tenant, actor, self.services.store(tenant), self.services.users(tenant))

        async def run(tenant: str, token: str, graphql: GraphQLRequest) -> Response:
            return await _execute(METADATA_SCHEMA, graphql, await in_thread(admin, tenant, token))
        return await _serve(request, run)


async def _serve(request: Request, run: Callable[[str, str, GraphQLRequest], Awaitable[Response]]) -> Response:
    """GraphiQL for a browser; else the token and the GraphQL request, then `run`; problems
    found on the way answer with their status and a GraphQL-shaped error body."""
    if _wants_ide(request):
        return HTMLResponse(GRAPHIQL)
    try:
        token = _bearer(request)
        return await run(request.path_params["tenant"], token, await _read(request))
    except HttpProblem as problem:
        return problem.response()
    except Exception:  # a bug, or the database is down: logged, and still a GraphQL-shaped answer
        log.exception("GraphQL request to %s failed", request.url.path)
        return JSONResponse(error_body("INTERNAL_SERVER_ERROR", "internal error: the details are in the server's log"),
                            status_code=500)
