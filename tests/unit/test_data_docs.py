"""Offline Data Docs: pinned assets unchanged, CDN links rewritten to the site's copies, unknown ones refused."""

from pathlib import Path

import pytest

from lintas.quality import data_docs

PAGE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" integrity="sha384-x"
 crossorigin="anonymous"></script>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<style>.navbar { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png')
 0 0 no-repeat; }</style>
</head><body>
<img
  src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261129&dataContextId=x"/>
<a href="https://greatexpectations.io">Great Expectations</a>
</body></html>"""


def test_pinned_assets_match_their_checksums():
    recorded = dict(line.split(maxsplit=1)[::-1] for line in
                    data_docs.ASSET_SHA256_FILE.read_text().splitlines())
    assert data_docs.asset_checksums() == recorded


def test_every_mapped_cdn_url_has_its_file():
    for url, asset in data_docs.CDN_TO_ASSET.items():
        assert (data_docs.ASSETS_DIR / asset).is_file(), url


def test_cdn_links_point_at_the_site_copy(tmp_path):
    site = tmp_path / "local_site"
    page = site / "validations" / "suite" / "run" / "page.html"
    (site / "static" / "images").mkdir(parents=True)
    (site / "static" / "images" / "logo-long.png").write_bytes(b"png")
    out = data_docs.localise(PAGE, page, site)
    assert data_docs.external_loads(out) == []
    assert 'href="../../../static/vendor/bootstrap@4.3.1/dist/css/bootstrap.min.css"' in out
    assert 'src="../../../static/vendor/vega@5.33.1/build/vega.min.js"' in out
    assert "integrity" not in out and "crossorigin" not in out
    # the remote logo (with its tracking query) and the dark logo GX does not ship become the local logo
    assert out.count("../../../static/images/logo-long.png") == 2 and "dataContextId" not in out
    assert '<a href="https://greatexpectations.io">' in out  # a link a reader may follow stays


def test_an_unknown_external_asset_is_refused(tmp_path):
    html = '<script src="https://cdn.example.org/new-widget.js"></script>'
    with pytest.raises(data_docs.ExternalAsset, match="new-widget.js"):
        data_docs.localise(html, tmp_path / "index.html", tmp_path)


def test_make_offline_copies_assets_once_and_rewrites_pages(tmp_path):
    site = tmp_path / "site"
    (site / "static" / "images").mkdir(parents=True)
    index = site / "index.html"
    index.write_text(PAGE, encoding="utf-8")
    assert data_docs.make_offline(site) == 1
    assert data_docs.external_loads(index.read_text(encoding="utf-8")) == []
    assert (site / "static/vendor/fontawesome-free@6.6.0/webfonts/fa-solid-900.woff2").is_file()
    assert data_docs.make_offline(site) == 0  # nothing left to rewrite
    assert data_docs.make_offline(Path(tmp_path / "missing")) == 0
