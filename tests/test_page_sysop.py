"""The sysop's tab of the gateway's page in a real Chromium, driven by clicking: workers live from WatchRealm with
drain / blacklist / readmit / remove, the queue, users (ban, unban, role, create), tokens (shown once, revoke),
quotas, stats, audit, peers and broadcasts; names from the realm rendered as text; a user's token gets no panel and
the realm refuses its Admin calls."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest
from browser import open_page, screenshot
from conftest import Cluster
from harness import SYSOP_TOKEN, Gateway, Realm, wait_until
from mtor_client import Cancelled, Client, Failed, InvalidArgument, Unauthenticated
from mtor_client._convert import chat_request

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The realm takes any non-empty worker name (realm.py worker_join), markup included.
MARKUP_WORKER = "<img src=x onerror=window.__pwned=1>"
MARKUP_TEXT = "<img src=x onerror=window.__pwned=2>"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Realm, Gateway]]:
    cluster = Cluster(Path(tmp_path_factory.mktemp("sysop")))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "w1", concurrency=2)
        cluster.worker(realm, MARKUP_WORKER, concurrency=1)
        gateway = cluster.gateway(realm)
        yield cluster, realm, gateway
        assert "Traceback" not in gateway.proc.output(), gateway.proc.output()
    finally:
        cluster.stop()


def sysop_section(page: "Page", section: str) -> None:
    """Open the sysop tab at one of its sections, with destructive actions' confirm() accepted."""
    page.on("dialog", lambda d: d.accept())
    page.click("#tab-sysop")
    page.wait_for_selector("#sysop-live[data-state=on]")
    page.click(f"#sysop-nav-{section}")


def no_markup_ran(page: "Page") -> None:
    assert page.locator("#panel-sysop img").count() == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"


def test_workers_update_live_and_drain_blacklist_readmit_remove_by_clicking(stack, browser):
    cluster, realm, gateway = stack
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page, realm.admin() as admin:
        sysop_section(page, "workers")
        w1 = page.locator('tr[data-worker="w1"]')
        w1.wait_for()
        assert w1.get_attribute("data-health-class") == "good" and w1.get_attribute("data-state") == "serving"
        assert "0 / 2" in w1.inner_text() and "chat: any model" in w1.inner_text()

        w1.get_by_role("button", name="Drain w1").click()
        page.wait_for_selector('tr[data-worker="w1"][data-state=draining]')  # from the next snapshot
        assert next(w for w in admin.workers() if w.name == "w1").draining

        w1.get_by_role("button", name="Blacklist w1").click()
        page.wait_for_selector('tr[data-worker="w1"][data-health-class=blacklisted]')
        assert next(w for w in admin.workers() if w.name == "w1").blacklisted_by_sysop
        screenshot(page, "sysop-workers-blacklisted")

        w1.get_by_role("button", name="Readmit w1").click()
        page.wait_for_selector('tr[data-worker="w1"][data-state=serving]')
        listed = next(w for w in admin.workers() if w.name == "w1")
        assert not (listed.draining or listed.blacklisted)
        shown = w1.evaluate("(tr) => [tr.dataset.healthClass, Number(tr.querySelector('td:nth-child(2) "
                            ".sysop-badge').textContent)]")  # one snapshot's colour and figure, read together
        assert shown[0] == ("good" if shown[1] >= 80 else "poor" if shown[1] >= 50 else "bad"), shown

        w3 = cluster.worker(realm, "w3", concurrency=1)
        try:
            page.wait_for_selector('tr[data-worker="w3"]')  # joined: appears without a reload
            page.get_by_role("button", name="Remove w3").click()
            page.wait_for_selector('tr[data-worker="w3"]', state="detached")
            assert "w3" not in [w.name for w in admin.workers()]
            assert admin.audit()[0].action == "RemoveWorker" and admin.audit()[0].target == "w3"
        finally:
            w3.popen.kill()
            w3.popen.wait(10)
            admin.readmit_worker("w3")


def test_names_from_the_realm_render_as_text(stack, browser):
    _, realm, gateway = stack
    with realm.admin() as admin:
        with pytest.raises(InvalidArgument):  # user names are letters, digits and . _ @ - only
            admin.create_user("<b>x</b>")
        admin.create_user("img_src-x@onerror")
        admin.create_token("img_src-x@onerror", label=MARKUP_TEXT)
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page:
        sysop_section(page, "workers")
        row = page.locator("tr.sysop-worker").filter(has_text="onerror")
        row.wait_for()
        assert row.get_attribute("data-worker") == MARKUP_WORKER
        assert row.locator(".sysop-name").inner_text() == MARKUP_WORKER
        no_markup_ran(page)
        page.click("#sysop-nav-tokens")
        page.locator("#sysop-tokens tbody tr").filter(has_text=MARKUP_TEXT).wait_for()  # a label, as text
        no_markup_ran(page)
        page.click("#sysop-nav-users")
        user = page.locator('#sysop-users tr[data-user="img_src-x@onerror"]')
        assert user.locator(".sysop-name").inner_text() == "img_src-x@onerror"


def test_a_ban_and_an_unban_by_clicking_are_seen_in_the_realm(stack, browser):
    _, realm, gateway = stack
    realm.new_user("mallory")
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page, realm.admin() as admin:
        sysop_section(page, "users")
        row = page.locator('#sysop-users tr[data-user="mallory"]')
        row.get_by_role("button", name="Ban mallory").click()
        page.get_by_label("Why ban mallory?").fill(MARKUP_TEXT)
        page.locator('tr[data-ban-user="mallory"] button.confirm-ban').click()
        page.wait_for_selector('#sysop-users tr[data-user="mallory"][data-banned=true]')
        user = next(u for u in admin.users() if u.name == "mallory")
        assert user.banned and user.ban_reason == MARKUP_TEXT
        assert MARKUP_TEXT in row.inner_text()  # the reason, as text
        no_markup_ran(page)
        screenshot(page, "sysop-users")

        row.get_by_role("button", name="Unban mallory").click()
        page.wait_for_selector('#sysop-users tr[data-user="mallory"][data-banned=false]')
        assert not next(u for u in admin.users() if u.name == "mallory").banned

        row.get_by_label("Role of mallory").select_option("ROLE_SYSOP")
        wait_until(lambda: next(u for u in admin.users() if u.name == "mallory").role == "sysop", 5,
                   what="mallory to be a sysop")
        page.locator('#sysop-users tr[data-user="mallory"]').get_by_label("Role of mallory").select_option("ROLE_USER")
        wait_until(lambda: next(u for u in admin.users() if u.name == "mallory").role == "user", 5,
                   what="mallory to be a user again")


def test_a_broadcast_by_clicking_reaches_the_realm_and_the_page(stack, browser):
    _, realm, gateway = stack
    text = f"maintenance at noon {MARKUP_TEXT}"
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page, realm.admin() as admin:
        sysop_section(page, "broadcast")
        page.fill("#sysop-broadcast-text", text)
        page.click("#sysop-broadcast-send")
        page.wait_for_selector("#sysop-broadcast >> text=/Sent to [1-9]\\d* callers/")
        page.locator("#notices .notice").filter(has_text="maintenance at noon").wait_for()  # the shell, live
        entry = next(e for e in admin.audit() if e.action == "Broadcast")
        assert entry.detail == text and entry.actor == "sysop"
        assert page.locator("#notices img").count() == 0
        no_markup_ran(page)


def test_a_token_created_by_clicking_is_shown_once_works_and_is_revoked(stack, browser):
    _, realm, gateway = stack
    with open_page(browser, gateway.url, SYSOP_TOKEN) as page:
        sysop_section(page, "users")
        page.fill("#sysop-new-user", "carol")
        page.click("#sysop-create-user")
        page.wait_for_selector('#sysop-users tr[data-user="carol"]')

        page.click("#sysop-nav-tokens")
        page.fill("#sysop-token-user", "carol")
        page.fill("#sysop-token-label", "laptop")
        page.click("#sysop-create-token")
        field = page.locator("#sysop-new-token")
        field.wait_for()
        token = field.input_value()
        assert token.startswith("mtor_") and "shown only this once" in page.locator("#sysop-tokens").inner_text()
        with Client(realm.address, token=token) as client:
            assert client.whoami() == "carol"
        screenshot(page, "sysop-token-created")

        page.click("#sysop-token-done")
        assert field.count() == 0 and token not in page.locator("#panel-sysop").inner_text()
        row = page.locator('#sysop-tokens tr[data-user="carol"]')
        prefix = row.get_attribute("data-prefix")
        assert prefix and token.startswith(prefix)
        row.get_by_role("button", name=f"Revoke token {prefix}").click()
        page.locator(f'#sysop-tokens tr[data-prefix="{prefix}"]').wait_for(state="detached")
        with Client(realm.address, token=token) as client, pytest.raises(Unauthenticated):
            client.whoami()


def test_the_queue_is_listed_cancelled_and_cleared_by_clicking(stack, browser):
    _, realm, gateway = stack
    with realm.admin() as admin, Client(realm.address, token=SYSOP_TOKEN) as client:
        drained = [w.name for w in admin.workers()]
        for name in drained:  # everything stays queued
            admin.drain_worker(name)
        streams = [client.submit(chat_request(f"queued {i}")) for i in range(3)]
        ids = [next(s).intent_id for s in streams]
        try:
            with open_page(browser, gateway.url, SYSOP_TOKEN) as page:
                sysop_section(page, "queue")
                for intent_id in ids:
                    page.wait_for_selector(f'#sysop-queue tr[data-intent="{intent_id}"]')
                assert "queued #1" in page.locator(f'tr[data-intent="{ids[0]}"]').inner_text()
                screenshot(page, "sysop-queue")
                page.get_by_role("button", name=f"Cancel intent {ids[2]}").click()
                page.wait_for_selector(f'tr[data-intent="{ids[2]}"]', state="detached")
                assert client.get(ids[2]).state == "cancelled"
                page.select_option("#sysop-clear-kind", "KIND_CHAT")
                page.click("#sysop-clear-queue")
                page.wait_for_selector("#sysop-queue .sysop-empty")
                assert admin.queue() == []
                ends = [list(s)[-1] for s in streams]
                assert all(isinstance(e, Failed) and isinstance(e.error, Cancelled) for e in ends)
                assert "cleared the queue" in ends[0].error.message
        finally:
            for name in drained:
                admin.readmit_worker(name)


def test_stats_quotas_audit_and_peers(stack, browser):
    _, realm, gateway = stack
    realm.new_user("dora")
    with realm.admin() as admin, Client(realm.address, token=SYSOP_TOKEN) as client:
        admin.add_peer("far-realm", address="127.0.0.1:9", token="mtor_their-token")  # nothing answers there
        client.chat("count me", timeout=20)
        client.chat("and me", timeout=20)
        with open_page(browser, gateway.url, SYSOP_TOKEN) as page:
            sysop_section(page, "stats")
            page.wait_for_selector("#sysop-stats svg.sysop-chart rect.bar.intents")
            chat = page.locator('#sysop-stats tr[data-kind="chat"]')
            assert int(chat.locator("td").nth(1).inner_text()) >= 2
            assert page.locator("#sysop-stats svg.sysop-chart text.label", has_text="chat").count() == 1
            screenshot(page, "sysop-stats")

            page.click("#sysop-nav-quotas")
            page.fill("#sysop-quota-user", "dora")
            page.fill("#sysop-quota-rpm", "7")
            page.fill("#sysop-quota-budget", "2.5")
            page.click("#sysop-set-quota")
            wait_until(lambda: any(e.action == "SetQuota" and e.target == "dora" for e in admin.audit()), 5,
                       what="the quota to be set")
            quota = admin.stats("dora").user("dora").quota
            assert quota is not None and (quota.requests_per_minute, quota.budget) == (7, 2.5)

            page.click("#sysop-nav-audit")
            page.locator('#sysop-audit tr[data-action="SetQuota"]').filter(has_text="dora").first.wait_for()

            page.click("#sysop-nav-peers")
            peer = page.locator('#sysop-peers tr[data-peer="far-realm"]')
            peer.wait_for()
            assert "127.0.0.1:9" in peer.inner_text()
            assert page.locator("#sysop-peers").inner_text().count("No federated intents yet.") == 1


def test_a_user_token_sees_no_sysop_tab_and_the_realm_refuses_its_admin_calls(stack, browser):
    _, realm, gateway = stack
    token = realm.new_user("ada")
    with open_page(browser, gateway.url, token) as page:
        assert page.locator("#who").inner_text() == "ada"
        assert page.locator("#tab-sysop").is_hidden() and page.locator("#panel-sysop").is_hidden()
        code = page.evaluate("() => window.mtor.bridge.unary('mtor.v1.Admin/ListUsers', {}).then(() => 'ok', "
                             "e => e.code)")
        assert code == "PERMISSION_DENIED"
        assert page.locator("#sysop-live").get_attribute("data-state") == "off"  # the panel started no calls
        assert page.locator("#sysop-workers tr.sysop-worker").count() == 0


@pytest.mark.parametrize("width", [1280, 360])
def test_the_panel_is_readable_in_both_themes(stack, browser, width):
    _, _, gateway = stack
    with open_page(browser, gateway.url, SYSOP_TOKEN, width=width) as page:
        sysop_section(page, "workers")
        page.wait_for_selector('tr[data-worker="w1"]')
        page.evaluate("() => document.documentElement.dataset.theme = 'light'")
        light = screenshot(page, f"sysop-light-{width}")
        page.click("#theme")
        assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
        dark = screenshot(page, f"sysop-dark-{width}")
        assert light.stat().st_size > 0 and dark.stat().st_size > 0
        if width == 360:  # a phone: the panel does not widen the page; wide tables scroll inside it
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 360 + 1
