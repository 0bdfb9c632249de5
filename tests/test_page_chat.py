"""The gateway's browser page in a real Chromium: serving and safety, sign-in, chat streaming and Stop, Markdown, and
model output that tries to be markup. Echo workers here; the starter model in test_page_models."""
from __future__ import annotations

import http.client
import re
import socket
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from browser import open_page, screenshot
from conftest import echo_stack
from harness import SYSOP_TOKEN, Gateway, Realm, wait_until
from mtor_client import Client
from mtor_client import _convert as conv
from mtor_client.admin import Pool

DELAY_S = 0.15


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Gateway]]:
    with echo_stack(tmp_path_factory.mktemp("page"), delay=DELAY_S) as stack:
        yield stack


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


XSS = ('<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> '
       '[click](javascript:window.__pwned=3) <svg onload="window.__pwned=4"></svg>')


def test_an_answer_that_is_markup_renders_as_text_and_runs_nothing(stack, browser):
    _, gateway = stack
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page:
        page.fill("#chat-input", XSS)
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=done]")
        log = page.locator("#chat-log")
        answer = page.locator(".msg.assistant").last
        assert '<img src=x onerror="window.__pwned=1">' in answer.inner_text()
        assert "<script>window.__pwned=2</script>" in answer.inner_text()
        assert log.locator("img, script, svg, iframe, [onerror], [onload]").count() == 0
        assert log.locator("a[href^='javascript']").count() == 0
        for link in log.locator("a").all():  # whatever links remain lead nowhere harmful
            link.click()
        page.wait_for_timeout(300)  # would give an injected handler time to run
        assert page.evaluate("() => window.__pwned") is None
        screenshot(page, "chat-markup-as-text")


def test_a_notice_is_shown_live_and_as_text(stack, browser):
    realm, gateway = stack
    token = realm.new_user("notice-reader")
    with open_page(browser, gateway.url, token) as page:
        page.wait_for_function("() => document.querySelector('#conn').dataset.state === 'open'")
        wait_until(lambda: realm.admin().broadcast('<b onmouseover="window.__pwned=1">maintenance at 5</b>') > 0, 5,
                   what="the page to follow notices")
        notice = page.locator("#notices .notice").last
        notice.wait_for()
        assert '<b onmouseover="window.__pwned=1">maintenance at 5</b>' in notice.inner_text()
        assert page.locator("#notices b").count() == 0


def test_sign_in_keeps_the_token_in_the_tab_only_and_a_bad_token_is_told(stack, browser):
    realm, gateway = stack
    token = realm.new_user("grace")
    with open_page(browser, gateway.url) as page:  # anonymous: the realm allows it from loopback
        assert page.locator("#sign-in").is_visible() and page.locator("#tab-sysop").is_hidden()
        page.click("#sign-in")
        page.fill("#token-input", "mtor_not-a-token")
        page.click("#sign-in-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#sign-in-error').textContent.length > 0")
        assert "does not know this token" in page.locator("#sign-in-error").inner_text()
        page.fill("#token-input", token)
        page.click("#sign-in-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#who').textContent === 'grace'")
        assert page.evaluate("() => sessionStorage.getItem('mtor.token')") == token
        assert token not in page.url and page.context.cookies() == []
        assert page.evaluate("() => document.cookie") == ""
        assert token not in page.evaluate("() => JSON.stringify(localStorage)")
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.locator("#who").inner_text() == "grace"  # the tab keeps it across a reload
        page.click("#sign-out")
        page.wait_for_function("() => document.querySelector('#who').textContent !== 'grace'")
        assert page.evaluate("() => sessionStorage.getItem('mtor.token')") is None


def test_history_stays_in_the_browser_and_esc_stops_an_answer(stack, browser):
    realm, gateway = stack
    token = realm.new_user("hopper")
    with open_page(browser, gateway.url, token) as page:
        page.fill("#chat-input", "first question")
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=done]")
        page.fill("#chat-input", " ".join(["long"] * 80))
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=streaming]")
        page.keyboard.press("Escape")
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=cancelled]")
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.locator("#chat-log .msg").count() == 0
        entry = page.locator(".history-list button", has_text="first question")
        entry.click()
        assert page.locator("#chat-log .msg.user").first.inner_text().endswith("first question")
        assert page.locator("#chat-log .msg.assistant").first.inner_text().count("echo: first question") == 1
    with Client(realm.address, token=token) as client:
        assert client.usage().intents == 2  # the page asked twice; the history is the browser's, not a resend


def test_models_theme_and_a_phone_sized_screen(stack, browser):
    realm, gateway = stack
    with realm.admin() as admin:
        admin.set_pool(Pool(name="fast", kind="chat", workers=("w1",)))
    with open_page(browser, gateway.url, SYSOP_TOKEN, width=360, height=740) as page:
        page.wait_for_function("() => document.querySelectorAll('#chat-model option').length > 1")  # ListPools
        assert page.locator("#chat-model option").all_inner_texts() == ["any model", "pool fast"]
        page.select_option("#chat-model", label="pool fast")
        page.fill("#chat-input", "hello from a phone")
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=done]")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width} px wide on a 360 px screen"
        before = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        page.click("#theme")
        after = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert before != after and page.evaluate("() => document.documentElement.dataset.theme") in ("dark", "light")
        screenshot(page, f"phone-{page.evaluate('() => document.documentElement.dataset.theme')}")
        page.click("#theme")
        screenshot(page, f"phone-{page.evaluate('() => document.documentElement.dataset.theme')}")


def test_the_wait_shows_the_place_in_the_queue_then_the_worker_and_a_retry(cluster, browser):
    """One worker, one slot, busy: the page's chat queues (the thermometer), starts on it, the worker is killed
    mid-answer, and the realm retries the intent on another."""
    realm = cluster.realm()
    victim = cluster.worker(realm, "victim", delay=0.1, concurrency=1)
    gateway = cluster.gateway(realm)
    with Client(realm.address, token=SYSOP_TOKEN) as client, open_page(browser, gateway.url, SYSOP_TOKEN) as page:
        page.evaluate("""() => { window.__seen = []; new MutationObserver(() => {
            const t = document.querySelector('#chat-log .msg.assistant:last-child .wait-text');
            if (t && window.__seen.at(-1) !== t.textContent) window.__seen.push(t.textContent);
          }).observe(document.querySelector('#chat-log'), {subtree: true, childList: true, characterData: true}); }""")
        ahead = client.submit(conv.chat_request("!sleep 2 ahead"))
        next(ahead)  # accepted: the worker's one slot is taken
        page.fill("#chat-input", " ".join(f"w{i}" for i in range(40)))
        page.keyboard.press("Enter")
        page.wait_for_function("() => /w5/.test(document.querySelector('#chat-log').lastElementChild.innerText)",
                               timeout=20000)
        cluster.worker(realm, "survivor", delay=0.01)
        victim.kill9()
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=done]", timeout=30000)
        seen = page.evaluate("() => window.__seen")
        list(ahead)
    assert any(s.startswith("in the queue: place 1") for s in seen), seen
    assert any(s.startswith("running on worker victim in realm ") for s in seen), seen
    assert any(s.startswith("retrying (attempt 2)") for s in seen), seen
    assert "worker survivor" in seen[-1], seen


UNLABELLED = """() => [...document.querySelectorAll('button, input, select, textarea, meter, progress, audio, video')]
  .filter((c) => c.type !== 'hidden')
  .filter((c) => !(c.getAttribute('aria-label') || '').trim() && !(c.title || '').trim()
    && !(c.getAttribute('aria-labelledby') && document.getElementById(c.getAttribute('aria-labelledby')))
    && ![...(c.labels || [])].some((l) => l.textContent.trim())
    && !(['BUTTON'].includes(c.tagName) && c.textContent.trim()))
  .map((c) => c.outerHTML.slice(0, 120))"""


def test_every_control_on_every_tab_has_a_name_a_screen_reader_can_read(stack, browser):
    _, gateway = stack
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page:
        for tab in ["chat", "imagine", "vision", "voice", "usage", "sysop"]:
            page.click(f"#tab-{tab}")
            assert page.locator(f"#panel-{tab}").is_visible()
            assert page.evaluate(UNLABELLED) == [], tab
        page.focus("#tab-chat")
        page.keyboard.press("ArrowRight")  # the tabs follow the WAI-ARIA tabs pattern
        assert page.evaluate("() => document.activeElement.id") == "tab-imagine"
        assert page.locator("#panel-imagine").is_visible()


def test_the_chat_settings_go_with_the_intent(stack, browser):
    _, gateway = stack
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page:
        page.fill("#chat-max-tokens", "2")  # the echo worker cuts its answer at max_tokens chunks
        page.fill("#chat-temperature", "0")
        page.fill("#chat-input", "one two three four")
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=done]")
        assert page.locator(".msg.assistant .content").last.inner_text().strip() == "echo: one"
        page.fill("#chat-max-tokens", "")
        page.fill("#chat-input", "one two three four")
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-log .msg.assistant:nth-child(4)[data-state=done]")
        assert page.locator(".msg.assistant .content").last.inner_text().strip() == "echo: one two three four"
