"""The UI router: pages, assets, caching, path safety, and that everything a page loads ships."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from services.api.web import MEDIA_TYPES, PAGES, SHELL, STATIC_DIR, UI_PREFIX, resolve_static
from tests.unit.web.conftest import ui_app

client = TestClient(ui_app())

#: What a page or stylesheet references: src/href attributes, CSS url(), JS module imports.
REFERENCE = re.compile(
    r"""(?:src|href)="(?P<attr>/ui/static/[^"]+)"|url\("(?P<css>[^"]+)"\)|from\s+"(?P<js>\./[^"]+)\""""
)


def _references(path: Path) -> set[Path]:
    found: set[Path] = set()
    for match in REFERENCE.finditer(path.read_text(encoding="utf-8")):
        if match["attr"]:
            found.add(STATIC_DIR / match["attr"].removeprefix("/ui/static/"))
        else:
            found.add((path.parent / (match["css"] or match["js"])).resolve())
    return found


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_is_served_with_a_strict_policy(page: str) -> None:
    response = client.get(f"{UI_PREFIX}/{page}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "/ui/static/js/main.js" in response.text


def test_the_shell_loads_a_module_for_every_page_and_each_exists() -> None:
    """main.js picks the page module from the path; it and the router must list the same pages."""
    main = (STATIC_DIR / "js" / "main.js").read_text(encoding="utf-8")
    listed = dict(re.findall(r'^\s*"?([a-z]*)"?: "\./([a-z]+\.js)",$', main, re.MULTILINE))
    assert listed == PAGES
    assert all((STATIC_DIR / "js" / module).is_file() for module in PAGES.values())


def test_bare_addresses_lead_to_the_search_page() -> None:
    for path in ("/", UI_PREFIX):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == f"{UI_PREFIX}/"


def test_unknown_pages_and_assets_are_404() -> None:
    assert client.get(f"{UI_PREFIX}/nope").status_code == 404
    assert client.get(f"{UI_PREFIX}/static/js/nope.js").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "../web.py",
        "..%2Fweb.py",
        "js/../../web.py",
        "%2e%2e/%2e%2e/app.py",
        "/etc/passwd",
        ".hidden",
        "js/.//text.js",
        "js\\text.js",
    ],
)
def test_paths_outside_the_assets_are_refused(path: str) -> None:
    response = client.get(f"{UI_PREFIX}/static/{path}")
    assert response.status_code == 404
    assert "import" not in response.text  # no Python source leaked


@settings(max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("./\\%2eajs_-x")), max_size=24))
def test_resolved_assets_always_stay_inside_the_static_tree(relative: str) -> None:
    resolved = resolve_static(relative)
    if resolved is not None:
        assert resolved.is_relative_to(STATIC_DIR) and resolved.is_file()


@pytest.mark.parametrize(
    ("asset", "media_type"),
    [
        ("js/text.js", "text/javascript"),
        ("css/khabar.css", "text/css"),
        ("fonts/NotoNastaliqUrdu-Regular.woff2", "font/woff2"),
        ("vendor/uPlot.iife.min.js", "text/javascript"),
    ],
)
def test_assets_have_their_media_type_and_revalidate(asset: str, media_type: str) -> None:
    first = client.get(f"{UI_PREFIX}/static/{asset}")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith(media_type)
    assert first.content == (STATIC_DIR / asset).read_bytes()
    tag = first.headers["etag"]
    again = client.get(f"{UI_PREFIX}/static/{asset}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""


def test_everything_the_pages_load_is_shipped() -> None:
    """A missing font, script or stylesheet would fail silently in a browser; catch it here."""
    sources = [STATIC_DIR / SHELL]
    sources += sorted((STATIC_DIR / "css").glob("*.css")) + sorted((STATIC_DIR / "js").glob("*.js"))
    checked = 0
    for source in sources:
        for target in _references(source):
            assert target.is_file(), f"{source.name} references missing {target}"
            assert resolve_static(str(target.relative_to(STATIC_DIR))) == target
            checked += 1
    assert checked >= 15  # the shell's, the stylesheet's fonts and the module imports were found


def test_no_asset_comes_from_another_origin() -> None:
    """Readers may be offline: no CDN, no web font service, no remote script."""
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".css"} or (
            path.suffix == ".js" and "vendor" not in path.parts
        ):
            text = path.read_text(encoding="utf-8")
            assert not re.search(
                r"""(src|href)=["']https?://|url\(["']?https?://|import .* from ["']https?://""",
                text,
            ), path


def test_vendored_files_carry_their_licences_and_stay_small() -> None:
    fonts = sorted((STATIC_DIR / "fonts").glob("*.woff2"))
    assert {f.name.split("-")[0] for f in fonts} >= {
        "NotoNastaliqUrdu",
        "NotoNaskhArabic",
        "NotoSansDevanagari",
    }
    assert "SIL Open Font License" in (STATIC_DIR / "fonts" / "OFL.txt").read_text()
    assert "MIT License" in (STATIC_DIR / "vendor" / "uPlot.LICENSE.txt").read_text()
    total = sum(p.stat().st_size for p in STATIC_DIR.rglob("*") if p.is_file())
    assert total < 3 * 1024 * 1024, f"static assets grew to {total} bytes"
    assert all(p.suffix in MEDIA_TYPES for p in STATIC_DIR.rglob("*") if p.is_file())
