"""Chromium for the browser tests: Debian's binary, headless, driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launched_chromium(monkeypatch) -> Iterator:
    """For a pytest fixture (``yield from launched_chromium(monkeypatch)``): a browser, closed
    afterwards together with the ORM connection that Playwright's greenlet opened (otherwise
    PostgreSQL cannot drop the test database)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous and single-threaded.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
            from django.db import connections

            connections.close_all()
