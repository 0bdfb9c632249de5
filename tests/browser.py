"""A real Chromium (Debian's, installed by `make install`) driven by Playwright, for the gateway's page."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("MTOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no connections to anywhere but the page's gateway
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",  # spoken answers play without a click
    "--use-fake-ui-for-media-stream",  # microphone and camera allowed without a prompt
    "--use-fake-device-for-media-stream",
]
SCREENSHOTS = Path(os.environ.get("MTOR_SCREENSHOTS") or Path(tempfile.gettempdir()) / "mtor-screenshots")
"""Where the page tests leave screenshots for a reviewer (MTOR_SCREENSHOTS to choose)."""


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator["Browser"]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args], headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: "Browser", url: str, token: str | None = None, width: int = 1280,
              height: int = 900) -> Iterator["Page"]:
    """The page at `url`, signed in with `token` (put in the tab's sessionStorage as the sign-in form does) or
    anonymous; ready once the page says so. At the end no script error may have happened on it."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  permissions=["microphone", "camera"])
    if token:
        context.add_init_script(f"sessionStorage.setItem('mtor.token', {json.dumps(token)})")
    page = context.new_page()
    errors: list[str] = []  # uncaught script errors, and console errors (a CSP violation is one)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    try:
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=15000)
        yield page
        assert not [e for e in errors if "pageerror" in e or "Content Security Policy" in e], errors
    finally:
        context.close()


def screenshot(page: "Page", name: str) -> Path:
    """Keep a picture of the page for a reviewer; returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
