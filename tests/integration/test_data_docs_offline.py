"""GX Data Docs render with the network cut off: Debian's Chromium (headless, driven by Playwright) opens the pages
Lintas built, every request that leaves the site folder is refused, and the icons, tables and scripts still work."""

import shutil

import pytest

from lintas import pipeline
from lintas.load.raw import RunContext
from lintas.quality import data_docs, gate
from tests.fixtures.dtks_files import member, write

CTX = RunContext("test_dag", "run-docs")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def data_docs_site(warehouse_url, outbox):
    """Data Docs of one failed DTKS batch: 5 bad sex codes, so the page has pass and fail icons."""
    write(outbox, "DTKS_3573_202610.csv", [member(i, JENIS_KELAMIN="X" if i < 5 else "L") for i in range(40)])
    report = pipeline.extract_files("dinsos_dtks", CTX)
    with pytest.raises(pipeline.PipelineFailed):
        pipeline.gate_source("dinsos_dtks", report, CTX)
    return gate.data_docs_site()


@pytest.fixture
def offline_page():
    """A function that opens a file in headless Chromium with every non-file request aborted; returns the page and
    the URLs it tried to fetch from outside."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(offline=True)
        outside: list[str] = []

        def refuse(route):
            outside.append(route.request.url)
            route.abort()

        context.route(lambda url: not url.startswith("file://"), refuse)

        def open_page(path):
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            page.evaluate("document.fonts.ready")
            return page, outside, errors

        yield open_page
        browser.close()


def test_no_page_loads_anything_from_outside_the_site(data_docs_site):
    pages = list(data_docs_site.rglob("*.html"))
    assert len(pages) >= 3  # index, suite, validation
    for page in pages:
        assert data_docs.external_loads(page.read_text(encoding="utf-8")) == [], page.name


def test_validation_page_shows_icons_and_results_offline(data_docs_site, offline_page):
    validation = max((data_docs_site / "validations").rglob("*.html"), key=lambda p: p.stat().st_mtime)
    page, outside, errors = offline_page(validation)
    assert outside == [] and errors == []
    assert page.evaluate("typeof jQuery === 'function' && typeof vegaEmbed === 'function'")
    assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')")
    for icon in ("fa-check-circle.text-success", "fa-times.text-danger"):
        assert page.locator(f"i.{icon}").count() > 0, icon
        glyph = page.evaluate(
            f"getComputedStyle(document.querySelector('i.{icon}'), '::before').content")
        family = page.evaluate(f"getComputedStyle(document.querySelector('i.{icon}')).fontFamily")
        width = page.evaluate(f"document.querySelector('i.{icon}').getBoundingClientRect().width")
        assert glyph not in ("none", "normal", "") and "Font Awesome" in family and width > 0, icon
    assert page.locator("table tbody tr").count() >= 10  # one row per expectation


def test_index_lists_the_validation_offline(data_docs_site, offline_page):
    page, outside, errors = offline_page(data_docs_site / "index.html")
    assert outside == [] and errors == []
    # bootstrap-table fills the index's lists from JavaScript: without its script they stay empty
    page.wait_for_selector("table.table tbody tr a", timeout=10_000)
    links = page.locator("table.table tbody tr a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("raw_dinsos_dtks" in href for href in links), links
