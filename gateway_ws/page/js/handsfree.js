// The hands-free voice mode's loop: the microphone, cut into speech segments by energy (segmenter.js), each segment
// transcribed by the realm's transcribe workers (never the browser's Web Speech API), the transcripts fed in order to
// the grammar (voicemode.js), and its actions carried out: chat, imagine or vision, the chat answer spoken.
import { submit } from "./intents.js";
import { Mic } from "./mic.js";
import { Segmenter } from "./segmenter.js";
import { VoiceMode } from "./voicemode.js";
import { wavBase64 } from "./wav.js";

// Whisper's initial prompt: the command words, spelled as we match them, make it hear "chat" rather than "Cheers"
const HINT = "Computer, chat. Computer, imagine. Computer, vision. Goodbye.";

/**
 * `view`: {state(state, detail), heard(text), level(rms), error(message)} (the page's display of it).
 * state is one of: off, listening, awake, prompt, submitted, speaking, ended.
 */
export class HandsFree {
  constructor(ctx, view) {
    this.ctx = ctx;
    this.view = view;
    this.grammar = new VoiceMode();
    this.mic = new Mic((samples, rate) => this.onChunk(samples, rate));
    this.segmenter = new Segmenter((chunks, rate) => this.onSegment(chunks, rate));
    this.queue = Promise.resolve(); // transcripts are handled in the order their segments were spoken
    this.speaking = false;
    this.active = false;
    this.generation = 0; // segments from an earlier start are not acted on after a stop
  }

  async start() {
    if (this.active) return;
    this.grammar = new VoiceMode();
    this.segmenter.reset();
    this.speaking = false;
    this.generation++;
    await this.mic.start();
    this.active = true;
    this.view.state("listening");
  }

  stop(state = "off") {
    this.active = false;
    this.generation++;
    this.mic.stop();
    this.view.state(state);
  }

  onChunk(samples, rate) {
    if (!this.active) return;
    this.view.level(this.segmenter.level);
    if (this.speaking) return; // the page is talking: do not listen to ourselves
    this.segmenter.feed(samples, rate);
  }

  onSegment(chunks, rate) {
    const generation = this.generation;
    const audio = wavBase64(chunks, rate);
    const transcript = submit(this.ctx.bridge, { transcribe: { audio, format: "AUDIO_FORMAT_WAV", language: "en",
      prompt: HINT, vadFilter: false } }).result.then((r) => r.transcript?.text || "", (err) => {
      this.view.error(`could not transcribe: ${err.message}`);
      return "";
    });
    this.queue = this.queue.then(() => transcript).then((text) => {
      if (generation === this.generation && this.active) this.hear(text);
    });
  }

  hear(text) {
    this.view.heard(text);
    for (const action of this.grammar.feed(text)) this.act(action);
  }

  act(action) {
    switch (action.type) {
      case "wake": this.view.state("awake"); break;
      case "mode": this.view.state("prompt", { mode: action.mode, prompt: "" }); break;
      case "prompt": this.view.state("prompt", { mode: action.mode, prompt: action.prompt }); break;
      case "idle": this.view.state("listening", { reason: action.reason }); break;
      case "submit": this.submitPrompt(action.mode, action.prompt); break;
      case "end": this.stop("ended"); break;
    }
  }

  async submitPrompt(mode, prompt) {
    this.view.state("submitted", { mode, prompt });
    const { api, toast } = this.ctx;
    try {
      if (mode === "chat") {
        this.ctx.show("chat");
        const answer = await api.chat.send(prompt);
        if (this.active && answer) await this.say(answer);
      } else {
        const call = mode === "imagine" ? api.imagine?.generate : api.vision?.ask;
        if (!call) {
          toast(`${mode} is not available on this page yet`, "error");
        } else {
          this.ctx.show(mode);
          await call(prompt);
        }
      }
    } catch (err) {
      this.view.error(`${mode} failed: ${err.message || err}`);
    }
    if (this.active && this.grammar.state === "idle") this.view.state("listening");
  }

  async say(text) {
    this.speaking = true;
    this.view.state("speaking");
    try {
      await this.ctx.speak(text);
    } finally {
      this.speaking = false;
      this.segmenter.reset(); // half a segment from before the answer is not a command
    }
  }
}
