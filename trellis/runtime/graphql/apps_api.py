"""Installed apps in the admin API (`/t/<tenant>/metadata/graphql`): the app versions of the
current release and where each item comes from (shipped, customised with its merge patch,
removed, the tenant's own), as `trellis app status` prints them. Admins only; read-only:
installing and upgrading stay with `trellis app`, which shows the merge before publishing.
"""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from trellis.runtime.apps.install import installed
from trellis.runtime.graphql.context import in_thread
from trellis.runtime.graphql.errors import ApiError
from trellis.runtime.releases import MetadataStore


@strawberry.type(description="An app version the current release is based on.")
class InstalledApp:
    name: str
    version: str


@strawberry.type(description="Where an item of the current release comes from.")
class ItemOrigin:
    kind: str
    name: str
    state: str = strawberry.field(description="shipped, customised, removed (switched off) or tenant (its own)")
    app: str | None
    patch: JSON | None = strawberry.field(description="customised: the JSON merge patch of the shipped document")


@strawberry.type
class AppStatus:
    release: int | None
    apps: list[InstalledApp]
    items: list[ItemOrigin]


@strawberry.type
class AppsQuery:
    @strawberry.field(description="The installed apps and each item's provenance, as of the current release.")
    async def app_status(self, info: strawberry.Info) -> AppStatus:
        if not info.context.actor.policy.is_admin:
            raise ApiError("FORBIDDEN", "only admins may read or change metadata")
        store: MetadataStore = info.context.store
        now = await in_thread(installed, store)
        return AppStatus(
            release=now.release,
            apps=[InstalledApp(name=a, version=v) for a, v in sorted(now.versions.items())],
            items=[ItemOrigin(kind=o.key[0], name=o.key[1], state=o.state, app=o.app,
                              patch=None if o.patch is None else JSON(o.patch)) for o in now.origins],
        )
