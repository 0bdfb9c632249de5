// The voice tab: the hands-free voice mode, the microphone (record, transcribe, put in the chat), and asking aloud
// (converse: transcript, answer and the answer spoken). Speech is recognised by the realm's transcribe workers.
import { $, el, fill } from "./dom.js";
import { HandsFree } from "./handsfree.js";
import { submit, WaitView } from "./intents.js";
import { renderMarkdown } from "./markdown.js";
import { Recorder } from "./mic.js";
import { play } from "./speech.js";
import { wavBase64 } from "./wav.js";

const MAX_RECORDING_S = 60;
const HEARD_KEPT = 8; // transcripts listed under the voice mode

// diagnostics for the console and the tests: every state shown, every transcript heard
const trace = { states: [], heard: [] };
window.mtorVoice = trace;

export function mount(panel, ctx) {
  panel.append(el("div", { class: "voice" }, voiceMode(ctx), microphone(ctx), askAloud(ctx)));
}

// ------------------------------------------------------------------------------------------------ voice mode --

const STATE_TEXT = {
  off: () => "Voice mode is off.",
  listening: () => "Listening for “computer”…",
  awake: () => "Heard “computer”: now say chat, imagine or vision.",
  prompt: (d) => `Mode ${d.mode}: say the prompt, then “computer” to submit.`,
  submitted: (d) => `Submitted to ${d.mode}.`,
  speaking: () => "Speaking the answer (not listening meanwhile).",
  ended: () => "Goodbye: voice mode ended.",
};

function voiceMode(ctx) {
  const toggle = el("button", { id: "voice-toggle", type: "button", "aria-pressed": "false" }, "Start voice mode");
  const level = el("meter", { id: "voice-level", min: 0, max: 0.2, value: 0, "aria-label": "Microphone level" });
  const status = el("p", { id: "voice-status", class: "voice-status", role: "status", "aria-live": "polite",
    dataset: { voiceState: "off" } }, STATE_TEXT.off());
  const prompt = el("p", { id: "voice-prompt", class: "voice-prompt", "aria-live": "polite" });
  const heard = el("ol", { id: "voice-heard", class: "voice-heard", "aria-label": "What the realm heard" });

  const view = {
    state(state, detail = {}) {
      status.dataset.voiceState = state;
      status.dataset.voiceMode = detail.mode || "";
      fill(status, STATE_TEXT[state](detail), detail.reason ? ` (${detail.reason})` : "");
      if (state === "prompt" || state === "submitted") {
        fill(prompt, el("span", { class: "label" }, state === "prompt" ? "Prompt so far: " : "Prompt: "),
          detail.prompt || "…");
      } else if (state !== "speaking") {
        fill(prompt);
      }
      const on = !["off", "ended"].includes(state);
      toggle.setAttribute("aria-pressed", String(on));
      fill(toggle, on ? "Stop voice mode" : "Start voice mode");
      if (!on) level.value = 0;
      trace.states.push(state);
    },
    heard(text) {
      trace.heard.push(text);
      if (!text.trim()) return;
      heard.append(el("li", {}, text));
      while (heard.children.length > HEARD_KEPT) heard.firstElementChild.remove();
    },
    level(rms) { level.value = rms; },
    error(message) { ctx.toast(message, "error"); },
  };
  const loop = new HandsFree(ctx, view);
  toggle.addEventListener("click", async () => {
    if (loop.active) {
      loop.stop();
      return;
    }
    toggle.disabled = true;
    try {
      await loop.start();
    } catch (err) {
      ctx.toast(`No microphone: ${err.message || err}`, "error");
    } finally {
      toggle.disabled = false;
    }
  });

  return el("section", { class: "card voice-mode", "aria-labelledby": "voice-mode-title" },
    el("h2", { id: "voice-mode-title" }, "Voice mode, hands free"),
    el("p", { class: "hint" }, "Say “computer”, then “chat”, “imagine” or “vision”, then your prompt, then “computer” " +
      "again to submit it. “Goodbye” ends the voice mode."),
    el("div", { class: "row" }, toggle, level), status, prompt, heard);
}

// ------------------------------------------------------------------------------------------ recording control --

/** A Record / Stop button with its length and level; `onRecorded({chunks, sampleRate, seconds})` at stop. */
function recordControl(ctx, id, label, onRecorded) {
  const button = el("button", { id, type: "button", "aria-pressed": "false" }, label);
  const seconds = el("span", { id: `${id}-seconds`, class: "seconds", dataset: { seconds: "0" } }, "");
  const level = el("meter", { min: 0, max: 0.2, value: 0, "aria-label": `${label}: microphone level` });
  const recorder = new Recorder((rms, s) => {
    level.value = rms;
    seconds.dataset.seconds = s.toFixed(2);
    fill(seconds, `${s.toFixed(1)} s`);
    if (s >= MAX_RECORDING_S) finish();
  });
  const finish = () => {
    if (!recorder.recording) return;
    const take = recorder.stop();
    button.setAttribute("aria-pressed", "false");
    fill(button, label);
    level.value = 0;
    if (take.seconds > 0.2) onRecorded(take);
    else ctx.toast("Nothing was recorded.", "error");
  };
  button.addEventListener("click", async () => {
    if (recorder.recording) {
      finish();
      return;
    }
    try {
      seconds.dataset.seconds = "0";
      await recorder.start();
      button.setAttribute("aria-pressed", "true");
      fill(button, "Stop");
    } catch (err) {
      ctx.toast(`No microphone: ${err.message || err}`, "error");
    }
  });
  return el("div", { class: "row record" }, button, level, seconds);
}

// ------------------------------------------------------------------------------------------------ microphone --

function microphone(ctx) {
  const wait = new WaitView();
  wait.node.hidden = true;
  const transcript = el("p", { id: "mic-transcript", class: "transcript", "aria-live": "polite",
    dataset: { state: "empty" } });
  const toInput = el("button", { id: "mic-to-input", type: "button", disabled: true, onclick: () => {
    const input = $("#chat-input");
    if (!input) return;
    input.value = input.value ? `${input.value} ${text}` : text;
    ctx.show("chat");
    input.focus();
  } }, "Put in the chat input");
  const toChat = el("button", { id: "mic-to-chat", type: "button", disabled: true, onclick: () => {
    ctx.show("chat");
    ctx.api.chat?.send(text).catch(() => {});
  } }, "Send to chat");
  let text = "";

  const record = recordControl(ctx, "mic-record", "Record", (take) => {
    text = "";
    toInput.disabled = toChat.disabled = true;
    transcript.dataset.state = "waiting";
    fill(transcript, "Transcribing…");
    wait.node.hidden = false;
    const audio = wavBase64(take.chunks, take.sampleRate);
    submit(ctx.bridge, { transcribe: { audio, format: "AUDIO_FORMAT_WAV" } }, wait.handlers()).result.then((r) => {
      wait.finished(r);
      text = (r.transcript?.text || "").trim();
      transcript.dataset.state = "done";
      fill(transcript, text || "(no speech heard)");
      toInput.disabled = toChat.disabled = !text;
    }, (err) => {
      wait.failed(err);
      transcript.dataset.state = "failed";
      fill(transcript, "");
    });
  });

  return el("section", { class: "card mic", "aria-labelledby": "mic-title" },
    el("h2", { id: "mic-title" }, "Microphone"),
    el("p", { class: "hint" }, "Record, then stop: the realm writes down what you said."),
    record, wait.node, transcript, el("div", { class: "row" }, toInput, toChat));
}

// ------------------------------------------------------------------------------------------------- ask aloud --

function askAloud(ctx) {
  const wait = new WaitView();
  wait.node.hidden = true;
  const heard = el("p", { id: "converse-transcript", class: "transcript", "aria-live": "polite" });
  const answer = el("div", { id: "converse-answer", class: "content markdown", "aria-live": "polite",
    dataset: { state: "empty" } });

  const record = recordControl(ctx, "converse-record", "Ask aloud", (take) => {
    let text = "";
    fill(heard, "Listening to the question…");
    fill(answer);
    answer.dataset.state = "waiting";
    wait.node.hidden = false;
    const audio = wavBase64(take.chunks, take.sampleRate);
    const followed = submit(ctx.bridge, { converse: { audio, format: "AUDIO_FORMAT_WAV" } }, wait.handlers({
      delta: (d) => {
        if (d.stage === "KIND_TRANSCRIBE" && d.text) {
          fill(heard, el("span", { class: "label" }, "You asked: "), d.text);
        } else if (d.stage === "KIND_CHAT" && d.text) {
          text += d.text;
          answer.dataset.state = "streaming";
          answer.replaceChildren(renderMarkdown(text));
        } else if (d.stage === "KIND_SPEAK") {
          wait.say(`speaking the answer${d.fraction ? ` (${Math.round(d.fraction * 100)} %)` : ""}`);
        }
      },
    }));
    followed.result.then(async (r) => {
      const c = r.conversation || {};
      wait.finished(r);
      if (c.transcript?.text) fill(heard, el("span", { class: "label" }, "You asked: "), c.transcript.text);
      answer.replaceChildren(renderMarkdown(c.answer?.text || text));
      answer.dataset.state = "done";
      if (c.audio?.wav) {
        await play(c.audio.wav, c.answer?.text || "");
        answer.dataset.played = "true";
      }
    }, (err) => {
      wait.failed(err);
      answer.dataset.state = "failed";
    });
  });

  return el("section", { class: "card converse", "aria-labelledby": "converse-title" },
    el("h2", { id: "converse-title" }, "Ask aloud, hear the answer"),
    el("p", { class: "hint" }, "Record a question, then stop: the realm transcribes it, answers and speaks the answer."),
    record, wait.node, heard, answer);
}
