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


#: Page-level horizontal scroll at the current width: None, or the page's scroll width and the
#: first elements that stick out (outside a ``.scroll`` box, where wide tables may scroll).
OVERFLOW_JS = """() => {
  const w = window.innerWidth, doc = document.documentElement.scrollWidth;
  if (doc <= w) return null;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 1)
    .filter(e => !e.closest('.scroll'))
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
      ' right=' + Math.round(e.getBoundingClientRect().right));
  return {scrollWidth: doc, innerWidth: w, wide};
}"""
