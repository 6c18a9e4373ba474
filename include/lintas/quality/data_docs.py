"""GX Data Docs that work on a city intranet without internet.

GX renders its pages with Bootstrap, bootstrap-table, jQuery, Font Awesome and Vega loaded from public CDNs, and a
logo from a GX web-assets bucket (with a tracking query string). Offline, the index lists nothing and the pass/fail
icons are blank. After every Data Docs build, `make_offline` copies the pinned copies of those assets (taken from
the npm registry; versions, licences and checksums in `data_docs_assets/LICENSES.md` and `SHA256SUMS`) into the
site's `static/vendor/` and rewrites each page's links to relative paths. Links for readers (``<a href>``) to GX's
web site stay; nothing a page loads by itself leaves the site folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
VENDOR = Path("static") / "vendor"

# The exact URLs GX 1.x's templates load -> the pinned file under data_docs_assets/. The CDN's `@5` / `@6` ranges
# are pinned to the release that was current when vendored.
CDN_TO_ASSET: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap@4.3.1/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap@4.3.1/dist/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table@1.19.1/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table@1.19.1/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    # GX asks for the 1.19.0 filter-control stylesheet; the 1.19.1 one is the same extension's next patch release
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker@1.9.0/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker@1.9.0/dist/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega@5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite@5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed@6.29.0/build/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "fontawesome-free@6.6.0/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js@1.12.9/dist/umd/popper.min.js",
}

# SHA-256 of every vendored file: a changed asset is a reviewed change, never a silent one (tested).
ASSET_SHA256_FILE = ASSETS_DIR / "SHA256SUMS"

# src/href attributes that load something by themselves (not <a> links a reader may follow).
_LOADED_URL = re.compile(r'(<(?:script|link|img)\b[^>]*?\b(?:src|href)=")(https?://[^"]+)(")', re.IGNORECASE)
# Subresource integrity and CORS mode are for cross-origin CDNs; on file:// pages Chromium refuses a
# crossorigin script, and the vendored files are checked against SHA256SUMS instead.
_CDN_ATTRIBUTES = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"', re.IGNORECASE)
_GX_IMAGES = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/([\w.-]+)(?:\?[^\"')]*)?")
_CSS_URL = re.compile(r"url\(\s*['\"]?(https?://[^'\")]+)")
# GX's dark-theme logo is only on its bucket; the light one is in the site's static/images.
FALLBACK_LOGO = "logo-long.png"


class ExternalAsset(RuntimeError):
    """A Data Docs page loads something from outside the site that has no pinned copy. Names page and URL."""


def make_offline(site_dir: Path) -> int:
    """Copy the pinned assets into the site and rewrite every page that still loads from the internet.
    Returns the number of pages rewritten. Raises ExternalAsset for a URL without a pinned copy (a GX upgrade
    that added one must add it here)."""
    site_dir = Path(site_dir)
    if not site_dir.is_dir():
        return 0
    vendor = site_dir / VENDOR
    if not vendor.is_dir() or _stale(vendor):
        shutil.rmtree(vendor, ignore_errors=True)
        shutil.copytree(ASSETS_DIR, vendor)
    rewritten = 0
    for page in site_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if "https://" not in html and "http://" not in html:
            continue
        localised = localise(html, page, site_dir)
        if localised != html:
            page.write_text(localised, encoding="utf-8")
            rewritten += 1
    return rewritten


def localise(html: str, page: Path, site_dir: Path) -> str:
    """The page's HTML with every loaded CDN asset pointed at the site's vendored copy, and GX's remote logos
    (in tags and inline CSS) at the images GX already copies into the site."""
    to_root = Path(os.path.relpath(site_dir, page.parent)).as_posix()

    def gx_image(match: re.Match) -> str:
        name = match.group(1) if (site_dir / "static" / "images" / match.group(1)).is_file() else FALLBACK_LOGO
        return f"{to_root}/static/images/{name}"

    def vendored(match: re.Match) -> str:
        asset = CDN_TO_ASSET.get(match.group(2))
        if asset is None:
            raise ExternalAsset(
                f"{page.relative_to(site_dir)} loads {match.group(2)}, which has no pinned offline copy")
        return f"{match.group(1)}{to_root}/{VENDOR.as_posix()}/{asset}{match.group(3)}"

    out = _LOADED_URL.sub(vendored, _GX_IMAGES.sub(gx_image, html))
    return re.sub(r"<(script|link)\b[^>]*>", lambda m: _CDN_ATTRIBUTES.sub("", m.group(0)), out)


def external_loads(html: str) -> list[str]:
    """URLs outside the site that the page would load by itself (tags and inline CSS); links are not counted."""
    return [m.group(2) for m in _LOADED_URL.finditer(html)] + _CSS_URL.findall(html)


def _stale(vendor: Path) -> bool:
    """True when the site's copy differs from the pinned assets (e.g. after an upgrade of Lintas)."""
    installed = vendor / ASSET_SHA256_FILE.name
    return not installed.is_file() or installed.read_bytes() != ASSET_SHA256_FILE.read_bytes()


def asset_checksums() -> dict[str, str]:
    """SHA-256 of each vendored file, by its path under data_docs_assets/ (what SHA256SUMS records)."""
    return {
        path.relative_to(ASSETS_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(ASSETS_DIR.rglob("*"))
        if path.is_file() and path.name not in (ASSET_SHA256_FILE.name, "LICENSES.md")
    }
