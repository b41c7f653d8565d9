"""The ASGI application and its HTTP endpoints: a composition root, imported by nothing but the CLI.

`create_app` wires the designer's pages and the GraphQL endpoints over one `TenantServices`;
`asgi.create` builds it from the environment for `uvicorn --factory`.
"""
