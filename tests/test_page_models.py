"""The gateway's page with the starter models (SmolLM2 chat, Whisper tiny.en transcribe, piper speak, on the CPU): a
real chat answering "Paris", the microphone, asking aloud, and the hands-free voice mode end to end, with Chromium's
fake microphone playing WAVs that the realm's own speak worker made."""
from __future__ import annotations

import io
import re
import time
import wave
from pathlib import Path
from typing import Iterator

import pytest
from browser import chromium, open_page, screenshot
from conftest import Cluster
from harness import Gateway, Realm
from mtor_client import Client

# Greedy and short: SmolLM2-135M at the worker's default 0.7 answers "Paris" about one time in four, and a long
# answer takes long to hear. The page sends no sampling settings; these are the worker's defaults.
LLAMA_ENV = {"MTOR_LLAMA_TEMPERATURE": "0", "MTOR_LLAMA_MAX_TOKENS": "48"}
RATE = 22050  # piper's


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Gateway, str]]:
    cluster = Cluster(Path(tmp_path_factory.mktemp("page-models")))
    try:
        realm = cluster.realm()
        cluster.worker(realm, "cpu", backends="llama,whisper,piper", concurrency=2, env=LLAMA_ENV)
        gateway = cluster.gateway(realm)
        yield realm, gateway, realm.new_user("ada")
        assert "Traceback" not in gateway.proc.output(), gateway.proc.output()
    finally:
        cluster.stop()


@pytest.fixture
def browser():
    """A plain Chromium for one test (Playwright's sync API runs one at a time, and the fake-microphone tests start
    their own)."""
    with chromium() as b:
        yield b


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def spoken_wav(realm: Realm, path: Path, parts: list[str | float]) -> Path:
    """A 16-bit mono WAV of `parts`: strings spoken by the realm's speak worker, numbers seconds of silence."""
    frames = bytearray()
    with Client(realm.address) as client:
        for part in parts:
            if isinstance(part, str):
                with wave.open(io.BytesIO(client.speak(part, timeout=60).wav)) as w:
                    assert w.getframerate() == RATE and w.getsampwidth() == 2 and w.getnchannels() == 1
                    frames += w.readframes(w.getnframes())
            else:
                frames += b"\0\0" * int(part * RATE)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return path


def fake_mic(wav: Path):
    """A Chromium whose microphone plays `wav` from the moment the page opens it, once ("%noloop": Chromium 156
    honours it; without it the file loops)."""
    return chromium(extra_args=[f"--use-file-for-fake-audio-capture={wav}%noloop"])


def usage_by_kind(page) -> dict[str, int]:
    report = page.evaluate("() => window.mtor.bridge.unary('mtor.v1.Account/Usage', {})")
    return {k["kind"]: int(k.get("intents", 0)) for k in report.get("kinds", [])}


def in_order(seen: list[str], wanted: list[str]) -> bool:
    """`wanted` appears in `seen` in this order (other states may come between)."""
    it = iter(seen)
    return all(state in it for state in wanted)


def test_a_real_chat_answers_paris(stack, browser):
    _, gateway, token = stack
    with open_page(browser, gateway.url, token) as page:
        page.fill("#chat-input", "What is the capital of France?")
        page.keyboard.press("Enter")
        page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=done]", timeout=120_000)
        answer = page.locator("#chat-log .msg.assistant").last
        assert "paris" in answer.locator(".content").inner_text().lower(), answer.inner_text()
        assert "SmolLM2" in answer.locator(".wait").inner_text()
        screenshot(page, "voice-chat-paris")


def test_the_voice_state_machine_in_the_page(stack, browser):
    _, gateway, token = stack
    with open_page(browser, gateway.url, token) as page:
        results = page.evaluate("""async () => {
            const { VoiceMode } = await import("/js/voicemode.js");
            const run = (texts) => { const m = new VoiceMode(); return texts.map((t) => m.feed(t)); };
            return {
                split: run(["Computer.", "Chat.", "What is the capital", "of France? Computer."]),
                oneGo: run(["computer chat hello computer", "goodbye"]),
                noise: run(["Thank you.", "I think the weather is nice", "chat about it", "you"]),
                misheard: run(["Computers, Chet!", "Tell me a joke.", "COMPUTER!"]),
                jet: run(["Computer.", "Jet.", "hello", "Computer."]),
                notAMode: run(["Computer, banana.", "chat hello computer"]),
                imagine: run(["computer imagine a red fox computer", "computer vision what is this computer"]),
                goodBye: run(["computer chat hello", "good-bye"]),
            };
        }""")
    split = results["split"]
    assert split[0] == [{"type": "wake"}] and split[1] == [{"type": "mode", "mode": "chat"}]
    assert split[2] == [{"type": "prompt", "mode": "chat", "prompt": "What is the capital"}]
    assert split[3] == [{"type": "prompt", "mode": "chat", "prompt": "What is the capital of France?"},
                        {"type": "submit", "mode": "chat", "prompt": "What is the capital of France?"}]
    one_go = results["oneGo"]
    assert [a["type"] for a in one_go[0]] == ["wake", "mode", "prompt", "submit"]
    assert one_go[0][-1] == {"type": "submit", "mode": "chat", "prompt": "hello"}
    assert one_go[1] == [{"type": "end"}]
    assert results["noise"] == [[], [], [], []]  # no wake word: nothing happens
    assert results["misheard"][2][-1] == {"type": "submit", "mode": "chat", "prompt": "Tell me a joke."}
    assert results["jet"][3] == [{"type": "submit", "mode": "chat", "prompt": "hello"}]  # tiny.en's "chat"
    assert results["notAMode"][0][-1]["type"] == "idle"
    assert results["notAMode"][1] == [{"type": "wake"}]  # "chat" without the wake word is ignored
    imagine = results["imagine"][0]
    assert imagine[-1] == {"type": "submit", "mode": "imagine", "prompt": "a red fox"}
    assert results["imagine"][1][-1] == {"type": "submit", "mode": "vision", "prompt": "what is this"}
    assert results["goodBye"][1][-1] == {"type": "end"}


def test_the_segmenter_cuts_speech_between_silences(stack, browser):
    _, gateway, token = stack
    with open_page(browser, gateway.url, token) as page:
        segments = page.evaluate("""async () => {
            const { Segmenter } = await import("/js/segmenter.js");
            const rate = 48000, parts = [];
            const quiet = (s) => parts.push(new Float32Array(Math.round(s * rate)));
            const tone = (s, amplitude) => parts.push(Float32Array.from({ length: Math.round(s * rate) },
                (_, i) => amplitude * Math.sin(2 * Math.PI * 220 * i / rate)));
            quiet(0.48);
            tone(0.03, 0.03); tone(0.18, 0.3);  // a short word ("chat") that starts softly
            quiet(1.0);
            tone(0.1, 0.3);  // a click
            quiet(1.0);
            tone(12, 0.3);  // a monologue: cut at 10 s
            quiet(1.0);
            const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
            let at = 0;
            for (const p of parts) { all.set(p, at); at += p.length; }
            const out = [];
            const seg = new Segmenter((chunks, r) => out.push(chunks.reduce((n, c) => n + c.length, 0) / r));
            for (let i = 0; i < all.length; i += 2048) seg.feed(all.subarray(i, i + 2048), rate);
            return out;
        }""")
    assert len(segments) == 3, segments  # the word, then the monologue in two; the click dropped
    assert 0.7 < segments[0] < 1.3 and segments[1] == pytest.approx(10, abs=0.05) and 2 < segments[2] < 3.2


def test_the_microphone_transcribes_and_puts_it_in_the_chat(stack, tmp_path):
    realm, gateway, token = stack
    sentence = "The quick brown fox jumps over the lazy dog."
    wav = spoken_wav(realm, tmp_path / "fox.wav", [0.3, sentence, 2.0])
    with fake_mic(wav) as browser, open_page(browser, gateway.url, token, width=360, height=800) as page:
        page.click("#tab-voice")
        page.click("#mic-record")
        page.wait_for_function("() => Number(document.querySelector('#mic-record-seconds').dataset.seconds) >= 3.6")
        page.click("#mic-record")
        page.wait_for_selector("#mic-transcript[data-state=done]", timeout=60_000)
        heard = page.locator("#mic-transcript").inner_text()
        assert len(words(heard) & words(sentence)) >= 6, heard
        screenshot(page, "voice-microphone-360")
        page.click("#mic-to-input")
        assert page.locator("#panel-chat").is_visible()
        assert "fox" in page.locator("#chat-input").input_value().lower()


def test_asking_aloud_transcribes_answers_and_plays_the_answer(stack, tmp_path):
    realm, gateway, token = stack
    wav = spoken_wav(realm, tmp_path / "question.wav", [0.3, "What is the capital of France?", 1.5])
    with fake_mic(wav) as browser, open_page(browser, gateway.url, token) as page:
        page.click("#tab-voice")
        page.click("#converse-record")
        page.wait_for_function(
            "() => Number(document.querySelector('#converse-record-seconds').dataset.seconds) >= 2.6")
        page.click("#converse-record")
        page.wait_for_selector("#converse-answer[data-state=done]", timeout=120_000)
        assert {"capital", "france"} <= words(page.locator("#converse-transcript").inner_text())
        assert "paris" in page.locator("#converse-answer").inner_text().lower()
        page.wait_for_selector("#converse-answer[data-played=true]", timeout=60_000)
        assert int(page.locator("#player").get_attribute("data-played") or 0) >= 1
        assert "Paris" in (page.locator("#player").get_attribute("data-text") or "")
        screenshot(page, "voice-converse")


TRIES = 3
"""Whisper tiny.en, fed live audio by a loaded machine, has misheard "France" as "friends" (seen once in several
dozen runs, and twice in a row once, in a fresh clone's CI run): the page did its part then, so the question is
asked again before the test fails."""


def test_the_voice_mode_hands_free_end_to_end(stack, tmp_path):
    realm, gateway, token = stack
    started = time.monotonic()
    command = spoken_wav(realm, tmp_path / "command.wav", [
        0.5, "Computer.", 1.5, "Chat.", 1.5, "What is the capital of France?", 1.5, "Computer.", 20.0])
    for attempt in range(1, TRIES + 1):
        with fake_mic(command) as browser, open_page(browser, gateway.url, token) as page:
            before = usage_by_kind(page)
            page.click("#tab-voice")
            page.click("#voice-toggle")
            page.wait_for_selector("#voice-status[data-voice-state=listening]")
            screenshot(page, "voice-mode-listening")
            try:
                page.wait_for_function("() => window.mtorVoice.states.includes('submitted')", timeout=60_000)
            except Exception:
                pytest.fail(f"no prompt submitted; heard: {page.evaluate('() => window.mtorVoice')}")
            page.wait_for_selector("#chat-log .msg.assistant:last-child[data-state=done]", timeout=90_000)
            answer = page.locator("#chat-log .msg.assistant").last.locator(".content").inner_text()
            trace = page.evaluate("() => window.mtorVoice")
            asked = page.locator("#chat-log .msg.user").last.inner_text().lower()
            if "capital of france" not in asked and attempt < TRIES:
                print(f"tiny.en misheard the question as {asked!r}; asking again")
                continue
            assert "capital of france" in asked, trace
            assert "paris" in answer.lower(), (answer, trace)
            # the answer is spoken, and only then does the page listen again
            page.wait_for_function("() => Number(document.querySelector('#player').dataset.played || 0) >= 1",
                                   timeout=60_000)
            page.wait_for_selector("#voice-status[data-voice-state=listening]", state="attached", timeout=10_000)
            trace = page.evaluate("() => window.mtorVoice")
            wanted = ["listening", "awake", "prompt", "submitted", "speaking", "listening"]
            assert in_order(trace["states"], wanted), trace
            assert "paris" in (page.locator("#player").get_attribute("data-text") or "").lower()  # what it said
            after = usage_by_kind(page)
            assert after.get("KIND_SPEAK", 0) > before.get("KIND_SPEAK", 0), (before, after)
            assert after.get("KIND_TRANSCRIBE", 0) - before.get("KIND_TRANSCRIBE", 0) >= 3, (before, after)
            page.click("#tab-voice")
            screenshot(page, "voice-mode-answered")
        break

    # "goodbye" ends it; what came before without the wake word did nothing
    farewell = spoken_wav(realm, tmp_path / "goodbye.wav", [0.5, "Hello there.", 1.5, "Goodbye.", 3.0])
    with fake_mic(farewell) as browser, open_page(browser, gateway.url, token, width=360, height=800) as page:
        page.click("#tab-voice")
        page.click("#voice-toggle")
        page.wait_for_selector("#voice-status[data-voice-state=ended]", timeout=60_000)
        trace = page.evaluate("() => window.mtorVoice")
        assert "awake" not in trace["states"] and len(trace["heard"]) >= 2, trace  # heard, and did not wake
        assert page.locator("#voice-toggle").get_attribute("aria-pressed") == "false"
        screenshot(page, "voice-mode-ended-360")
    print(f"voice mode end to end: {time.monotonic() - started:.1f} s")
