"""Every page works without internet: vendored assets match their manifest (package@version,
the registry's sha512 integrity, the licence), and no served page names another site in a
`src` or `href`. The catalogue has every string in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.designer.conftest import Browser
from tests.runtime.graphql.conftest import TENANT
from trellis.designer.fieldforms import KINDS
from trellis.designer.i18n import CATALOGUE, LANGUAGES
from trellis.designer.user_pages import GRANTS

VENDOR = Path(__file__).resolve().parents[2] / "trellis" / "designer" / "static" / "vendor"
TEMPLATES = VENDOR.parent.parent / "templates"
EXTERNAL = re.compile(r'(?:src|href|action)\s*=\s*["\']?\s*(?:[a-z][a-z0-9+.-]*:|//)', re.IGNORECASE)


def test_the_manifest_lists_each_vendored_package_pinned_with_its_integrity_and_licence() -> None:
    manifest = json.loads((VENDOR / "manifest.json").read_text("utf-8"))
    assert set(manifest) == {"htmx.org", "react", "react-dom", "graphiql", "echarts"}
    for name, entry in manifest.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]), name
        assert entry["integrity"].startswith("sha512-") and entry["tarball"].startswith("https://registry.npmjs.org/")
        assert "LICENSE" in entry["files"], name
        for file in entry["files"]:
            assert (VENDOR / name / file).stat().st_size > 0, (name, file)
    on_disk = {f"{p.parent.name}/{p.name}" for p in VENDOR.glob("*/*")}
    assert on_disk == {f"{n}/{f}" for n, e in manifest.items() for f in e["files"]}


def test_every_string_has_both_languages_and_every_key_the_templates_use_exists() -> None:
    for key, texts in CATALOGUE.items():
        assert set(texts) == set(LANGUAGES) and all(texts.values()), key
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r'\bt\("([a-z_]+\.[a-z_.]+)"', template.read_text("utf-8")))
    for module in TEMPLATES.parent.glob("*.py"):
        used |= set(re.findall(r'\bt\.t\("([a-z_]+\.[a-z_.]+)"', module.read_text("utf-8")))
    used -= {"kind.", "users.grant."}  # built from a name: checked one by one below
    used |= {f"kind.{kind}" for kind in KINDS} | {f"users.grant.{grant}" for grant in GRANTS}
    assert used and used - set(CATALOGUE) == set()


@pytest.mark.anyio
async def test_no_served_page_names_another_site(browser: Browser) -> None:
    base = f"/t/{TENANT}"
    anonymous = ["/", f"{base}/login", f"{base}/graphql"]
    signed_in = [f"{base}/", f"{base}/new-object", f"{base}/objects/contract", f"{base}/objects/contract/new-field",
                 f"{base}/objects/contract/fields/amount", f"{base}/objects/contract/new-rule", f"{base}/rules",
                 f"{base}/publish", f"{base}/history", f"{base}/history?a=1&b=1", f"{base}/users",
                 f"{base}/users/rob@example.com", f"{base}/channels", f"{base}/channels/sms"]
    seen = 0
    for paths in (anonymous, signed_in):
        if paths is signed_in:
            await browser.sign_in()
        for path in paths:
            for lang in ("en", "zh-CN"):
                page = await browser.client.get(path, params={"lang": lang}, headers={"Accept": "text/html"})
                assert page.status_code == 200, (path, page.status_code)
                assert EXTERNAL.search(page.text) is None, (path, EXTERNAL.search(page.text))
                assert "<script>" not in page.text and not re.search(r"\son[a-z]+=", page.text), path
                seen += 1
    assert seen == 2 * (len(anonymous) + len(signed_in))
