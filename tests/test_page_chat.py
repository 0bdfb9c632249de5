"""The gateway's browser page in a real Chromium: serving and safety, sign-in, chat streaming and Stop, Markdown, and
model output that tries to be markup. Echo workers here; the starter model in test_page_models."""
from __future__ import annotations

import http.client
import re
import socket
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from browser import chromium, open_page, screenshot
from conftest import Cluster
from harness import SYSOP_TOKEN, Gateway, Realm, wait_until
from mtor_client import Client

DELAY_S = 0.15


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Gateway]]:
    cluster = Cluster(Path(tmp_path_factory.mktemp("page")))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "w1", delay=DELAY_S, concurrency=4)
        gateway = cluster.gateway(realm)
        yield realm, gateway
        assert "Traceback" not in gateway.proc.output(), gateway.proc.output()
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def raw_get(url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """A GET of `path` exactly as written (no client-side normalising of `..`)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_the_page_is_served_with_a_policy_that_allows_no_inline_script(stack):
    _, gateway = stack
    status, headers, body = raw_get(gateway.url, "/")
    assert status == 200 and headers["content-type"].startswith("text/html") and b"<title>MTOR</title>" in body
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert b"<script>" not in body and not re.search(rb"\son[a-z]+=", body)  # no inline script or handler
    status, headers, _ = raw_get(gateway.url, "/js/app.js")
    assert status == 200 and "javascript" in headers["content-type"]


@pytest.mark.parametrize("path", ["/../site.py", "/js/../../site.py", "/%2e%2e/site.py", "/..%2fsite.py",
                                  "/js/%2e%2e/%2e%2e/app.py", "//etc/passwd", "/../../../../etc/passwd"])
def test_no_file_outside_the_page_folder_is_served(stack, path):
    _, gateway = stack
    status, _, body = raw_get(gateway.url, path)
    assert status == 404, (path, status, body[:200])
    assert b"import" not in body and b"root:" not in body


def test_the_gateway_keeps_serving_its_api_beside_the_page(stack):
    _, gateway = stack
    parts = urlsplit(gateway.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b'{"realm":"SERVING"}'


def test_chat_streams_markdown_and_stop_cancels_the_intent_in_the_realm(stack, browser):
    realm, gateway = stack
    words = " ".join(f"word{i}" for i in range(60))
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page:
        assert page.locator("#who").inner_text() == "sysop (sysop)"
        page.fill("#chat-input", "**bold** and `code`")
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=done]")
        answer = page.locator(".msg.assistant").last
        assert answer.locator("strong").inner_text() == "bold" and answer.locator("code").inner_text() == "code"
        assert "worker w1" in answer.locator(".wait").inner_text()

        page.fill("#chat-input", words)
        page.click("#chat-send")
        answer = page.locator(".msg.assistant").last
        page.wait_for_function("() => /word3/.test(document.querySelector('#chat-log').lastElementChild.innerText)")
        assert answer.get_attribute("data-state") == "streaming"
        intent_id = answer.get_attribute("data-intent-id")
        screenshot(page, "chat-streaming")
        page.click("#chat-stop")
        page.wait_for_selector(".msg.assistant:last-child[data-state=cancelled]")
        assert "word59" not in answer.inner_text() and "stopped" in answer.locator(".wait").inner_text()
    with Client(realm.address, token=SYSOP_TOKEN) as client:
        assert client.get(intent_id).state == "cancelled"
    wait_until(lambda: realm.describe().running == 0, 5, what="the worker to stop the cancelled chat")
