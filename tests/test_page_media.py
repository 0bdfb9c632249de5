"""The page's imagine, vision and usage tabs in a real Chromium, against a real realm and gateway: a progress bar and
an image from a tiny random-weight diffusion pipeline, seeds and the gallery kept across a reload, Stop cancelling the
intent in the realm, vision from an uploaded file and from Chromium's fake camera, and Account.Usage shown as the SDK
reads it."""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Iterator

import pytest
from browser import open_page, screenshot
from conftest import Cluster, echo_stack
from harness import Gateway, Realm, wait_until
from mtor_client import Client, Internal

from mtor_worker.media import encode_png_solid

DELAY_S = 0.1  # the echo worker's pause per imagine step and per streamed chunk

# Records every value the progress bar's data-fraction takes, before the page's code sets any.
RECORD_PROGRESS = """() => {
  window.fractionsSeen = [];
  const bar = document.querySelector('#imagine-progress');
  new MutationObserver((records) => {
    for (const r of records) window.fractionsSeen.push(Number(bar.dataset.fraction));
  }).observe(bar, {attributes: true, attributeFilter: ['data-fraction']});
}"""

# The gallery's images as pixel strings (the page's CSP lets no script fetch a blob: URL; a canvas may draw it).
PIXELS = """() => [...document.querySelectorAll('#imagine-gallery img')].map((img) => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  return g.getImageData(0, 0, canvas.width, canvas.height).data.join(',');
})"""

ALL_LOADED = "() => [...document.querySelectorAll('#imagine-gallery img')].every((img) => img.complete && " \
    "img.naturalWidth > 0)"


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Gateway]]:
    with echo_stack(tmp_path_factory.mktemp("page-media"), delay=DELAY_S) as stack:
        yield stack


@pytest.fixture(scope="module")
def diffusion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Gateway]]:
    from tiny.diffusion import make_pipeline

    root = Path(tmp_path_factory.mktemp("page-diffusion"))
    pipeline = make_pipeline(root)
    cluster = Cluster(root)
    try:
        realm = cluster.realm()
        cluster.worker(realm, "painter", backends="diffusers", env={"MTOR_DIFFUSERS_MODEL": str(pipeline)})
        yield realm, cluster.gateway(realm)
    finally:
        cluster.stop()


def imagine_form(page, prompt: str, size: str, steps: int, seed: str = "") -> None:
    page.click("#tab-imagine")
    page.fill("#imagine-prompt", prompt)
    page.select_option("#imagine-size", size)
    page.fill("#imagine-steps", str(steps))
    page.fill("#imagine-seed", seed)


def test_imagine_shows_progress_and_an_image_from_a_diffusion_pipeline(diffusion, browser):
    realm, gateway = diffusion
    token = realm.new_user("painter-fan")
    with open_page(browser, gateway.url, token) as page:
        imagine_form(page, "a red cube", "64x64", 3, "7")
        assert "tiny-sd" in page.locator("#imagine-model option").all_inner_texts()
        page.select_option("#imagine-model", "tiny-sd")
        page.evaluate(RECORD_PROGRESS)
        page.click("#imagine-go")
        page.wait_for_selector(".imagine[data-state=done]", timeout=120000)

        seen = page.evaluate("window.fractionsSeen")
        steps = [f for f in seen if 0 < f < 1]
        assert steps and seen == sorted(seen) and seen[-1] == 1, seen  # moved forward, step by step, to the end
        shot = page.locator("#imagine-gallery li.shot").first
        page.wait_for_function("() => document.querySelector('#imagine-gallery img')?.complete")
        natural = shot.locator("img").evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert natural == [64, 64]
        link = shot.locator("a.download")
        assert link.get_attribute("download") == "mtor-7.png" and link.get_attribute("href").startswith("blob:")
        assert "seed 7" in shot.locator("figcaption").inner_text() and "tiny-sd" in shot.inner_text()
        screenshot(page, "imagine-diffusion")


def test_a_seed_round_trips_and_the_gallery_survives_a_reload(echo, browser):
    realm, gateway = echo
    token = realm.new_user("seeder")
    with open_page(browser, gateway.url, token) as page:
        imagine_form(page, "a green field", "64x64", 2)  # blank seed: the worker picks one
        page.click("#imagine-go")
        page.wait_for_selector("#imagine-gallery li.shot")
        first = page.locator("#imagine-gallery li.shot").first
        seed = first.get_attribute("data-seed")
        assert re.fullmatch(r"-?\d+", seed) and first.locator("a.download").get_attribute("download") == \
            f"mtor-{seed}.png"

        first.locator("button.reuse").click()
        assert page.input_value("#imagine-seed") == seed
        page.click("#imagine-go")
        page.wait_for_selector("#imagine-gallery li.shot >> nth=1")
        assert page.locator("#imagine-gallery li.shot").first.get_attribute("data-seed") == seed
        page.wait_for_function(ALL_LOADED)
        pixels = page.evaluate(PIXELS)
        assert pixels[0] == pixels[1]  # the same seed, the same picture

        # what the voice mode calls: the form's settings, this prompt
        result = page.evaluate("mtor.api.imagine.generate('spoken prompt')")
        assert result["image"]["width"] == 64 and page.locator("#imagine-gallery li.shot").count() == 3
        assert page.locator("#imagine-gallery li.shot").first.locator(".caption-prompt").inner_text() == \
            "spoken prompt"
        screenshot(page, "imagine-gallery")

        page.wait_for_selector("#imagine-gallery li.shot[data-saved=true] >> nth=2")  # all three in IndexedDB
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.click("#tab-imagine")
        page.wait_for_selector("#imagine-gallery li.shot >> nth=2")
        assert page.locator("#imagine-gallery li.shot").count() == 3
        page.wait_for_function(ALL_LOADED)
        assert page.evaluate(PIXELS)[1:] == pixels  # the same pictures, from this browser's IndexedDB
        page.set_viewport_size({"width": 360, "height": 800})
        screenshot(page, "imagine-360")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0  # nothing sticks out sideways at a phone's width


def test_stop_on_imagine_cancels_the_intent_in_the_realm(echo, browser):
    realm, gateway = echo
    token = realm.new_user("stopper")
    with open_page(browser, gateway.url, token) as page:
        imagine_form(page, "a slow painting", "64x64", 100)  # 100 steps of DELAY_S: long enough to stop
        page.click("#imagine-go")
        page.wait_for_function("() => Number(document.querySelector('#imagine-progress').dataset.fraction) > 0")
        intent_id = page.get_attribute(".imagine", "data-intent-id")
        page.click("#imagine-stop")
        page.wait_for_selector(".imagine[data-state=cancelled]")
        assert "stopped" in page.locator(".imagine-status").inner_text()
        assert page.locator("#imagine-progress").is_hidden()
        assert page.locator("#imagine-gallery li.shot").count() == 0
        assert page.is_enabled("#imagine-go") and not page.is_enabled("#imagine-stop")
    with Client(realm.address, token=token) as client:
        assert client.get(intent_id).state == "cancelled"
    wait_until(lambda: realm.describe().running == 0, 5, what="the worker to stop the cancelled imagine")


def test_vision_answers_about_an_uploaded_file(echo, browser, tmp_path):
    realm, gateway = echo
    png = encode_png_solid(40, 30, (200, 10, 10))
    path = tmp_path / "red.png"
    path.write_bytes(png)
    with open_page(browser, gateway.url, realm.new_user("looker")) as page:
        page.click("#tab-vision")
        page.set_input_files("#vision-file", str(path))
        page.wait_for_function("() => document.querySelector('#vision-preview').naturalWidth === 40")
        page.fill("#vision-prompt", "what colour is it")
        page.click("#vision-ask")
        page.wait_for_selector(".vision[data-state=done]")
        answer = page.locator("#vision-answer").inner_text().strip()
        assert answer == f"echo: what colour is it ({len(png)} bytes of image)"
        assert "worker w1" in page.locator(".vision-status").inner_text()
        screenshot(page, "vision-upload")
        page.set_viewport_size({"width": 360, "height": 800})
        screenshot(page, "vision-360")
        assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


def test_vision_takes_a_dropped_image_and_stop_cancels_the_intent(echo, browser):
    realm, gateway = echo
    token = realm.new_user("dropper")
    png = encode_png_solid(16, 16, (0, 0, 255))
    with open_page(browser, gateway.url, token) as page:
        page.click("#tab-vision")
        page.evaluate(DROP, base64.b64encode(png).decode())
        page.wait_for_function("() => document.querySelector('#vision-preview').naturalWidth === 16")
        assert page.get_attribute("#vision-drop", "data-bytes") == str(len(png))
        page.fill("#vision-prompt", "!sleep 30 think hard")
        page.click("#vision-ask")
        page.wait_for_selector(".vision[data-intent-id] .wait[data-state=running]")
        intent_id = page.get_attribute(".vision", "data-intent-id")
        page.click("#vision-stop")
        page.wait_for_selector(".vision[data-state=cancelled]")
        assert "stopped" in page.locator(".vision-status").inner_text()
    with Client(realm.address, token=token) as client:
        assert client.get(intent_id).state == "cancelled"


# A file dropped on the drop zone, as a person dragging it from their desktop makes the browser send it.
DROP = """(b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], 'blue.png', {type: 'image/png'}));
  document.querySelector('#vision-drop').dispatchEvent(
    new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
}"""


def test_vision_takes_a_photo_with_the_camera_and_sends_it(echo, browser):
    realm, gateway = echo
    token = realm.new_user("photographer")
    with open_page(browser, gateway.url, token) as page:
        page.click("#tab-vision")
        page.click("#vision-camera")
        page.wait_for_function("() => document.querySelector('#vision-video').videoWidth > 0")
        screenshot(page, "vision-camera")
        page.click("#vision-snap")
        page.wait_for_function("() => document.querySelector('#vision-preview').naturalWidth > 0")
        sent = int(page.get_attribute("#vision-drop", "data-bytes"))
        assert sent > 0 and page.evaluate("document.querySelector('#vision-video').srcObject") is None  # camera off
        page.fill("#vision-prompt", "who is there")
        page.click("#vision-ask")
        page.wait_for_selector(".vision[data-state=done]")
        assert page.locator("#vision-answer").inner_text().strip() == f"echo: who is there ({sent} bytes of image)"

    # the voice mode's call: no image chosen yet, so the camera takes one
    with open_page(browser, gateway.url, token) as page:
        text = page.evaluate("mtor.api.vision.ask('what do you see')")
        assert re.fullmatch(r"echo: what do you see \(\d+ bytes of image\)", text)
        assert int(re.search(r"(\d+) bytes", text).group(1)) > 0
        assert page.evaluate("document.querySelector('#vision-video').srcObject") is None


def test_usage_shows_what_the_realm_counts_per_kind(echo, browser):
    realm, gateway = echo
    token = realm.new_user("counter")
    with realm.admin() as admin:
        admin.set_quota("counter", requests_per_minute=120, budget=5.0)
    with Client(realm.address, token=token) as client:
        client.chat("one")
        client.chat("two")
        with pytest.raises(Internal):
            client.chat("!fail on purpose")
        client.imagine("a dot", width=8, height=8, steps=1)
        wait_until(lambda: client.usage().intents == 4, 10, what="the ledger to record four intents")

        with open_page(browser, gateway.url, token) as page:
            page.click("#tab-usage")
            page.wait_for_selector(".usage[data-state=ready]")
            compare(page, client.usage())
            rows = page.locator("#usage-kinds tbody tr")
            assert rows.count() == 2
            chat = page.locator("#usage-kinds tr[data-kind=chat]")
            assert chat.locator("[data-col=intents]").inner_text() == "3"
            assert chat.locator("[data-col=succeeded]").inner_text() == "2"
            assert page.locator("#usage-quota [data-key=rpm]").inner_text() == "120"
            assert page.locator("#usage-quota [data-key=budget]").inner_text().startswith("5.0000 per")
            screenshot(page, "usage")

            # one more intent: seen after Refresh, and again when the tab is shown anew
            client.vision(encode_png_solid(4, 4, (0, 0, 0)), "tiny")
            wait_until(lambda: client.usage().intents == 5, 10, what="the ledger to record the vision intent")
            page.click("#usage-refresh")
            page.wait_for_selector("#usage-kinds tr[data-kind=vision]")
            compare(page, client.usage())
            client.chat("three")
            wait_until(lambda: client.usage().intents == 6, 10, what="the ledger to record the last chat")
            page.click("#tab-chat")
            page.click("#tab-usage")
            page.wait_for_function("() => document.querySelector('#usage-totals [data-key=intents]')"
                                   "?.textContent === '6'")
            compare(page, client.usage())
            page.set_viewport_size({"width": 360, "height": 800})
            screenshot(page, "usage-360")


def compare(page, report) -> None:
    """The page's totals and per-kind rows say what `report` (the SDK's Account.Usage) says."""
    totals = page.locator("#usage-totals")
    assert totals.locator("[data-key=intents]").inner_text() == str(report.intents)
    assert totals.locator("[data-key=cost]").inner_text() == f"{report.cost:.4f}"
    assert totals.locator("[data-key=processing]").inner_text() == f"{report.processing_s:.2f} s"
    shown = {}
    for row in page.locator("#usage-kinds tbody tr[data-kind]").all():
        shown[row.get_attribute("data-kind")] = (
            int(row.locator("[data-col=intents]").inner_text()), int(row.locator("[data-col=succeeded]").inner_text()),
            row.locator("[data-col=processing]").inner_text(), row.locator("[data-col=cost]").inner_text(),
            row.locator("[data-col=mean-service]").inner_text())
    assert shown == {k.kind: (k.intents, k.succeeded, f"{k.processing_s:.2f}", f"{k.cost:.4f}",
                              f"{k.mean_service_s:.2f}") for k in report.kinds}
