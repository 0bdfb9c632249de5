// The hands-free voice mode's grammar, as the original had it: "computer" (the wake word), a mode ("chat", "imagine",
// "vision"), the prompt, and "computer" again submits it; "goodbye" ends the voice mode. Pure: no DOM, no I/O. It
// takes transcripts (Whisper's text, with its case and punctuation) and returns actions; words count in order,
// whether they come in one transcript or spread over many.
//
// Actions: {type: "wake"}, {type: "mode", mode}, {type: "prompt", mode, prompt} (the prompt so far),
// {type: "submit", mode, prompt}, {type: "idle", reason} (back to waiting for the wake word), {type: "end"}.

export const MODES = ["chat", "imagine", "vision"];

// Whisper tiny hears a lone short word loosely; these are what it wrote for ours (only taken right after the
// wake word, where nothing else is expected)
const WAKE = new Set(["computer", "computers", "komputer"]);
const MODE_WORDS = new Map([
  ["chat", "chat"], ["chats", "chat"], ["chad", "chat"], ["chatting", "chat"], ["chet", "chat"], ["jet", "chat"],
  ["get", "chat"],
  ["imagine", "imagine"], ["imagined", "imagine"], ["imagines", "imagine"],
  ["vision", "vision"], ["visions", "vision"],
]);
const FILLERS = new Set(["uh", "um", "er", "ah", "oh", "okay", "ok", "so", "and", "please", "hey", "the", "a"]);

/** A word's key: lower case, no punctuation ("Computer." -> "computer", "computer's" -> "computer"). */
export function normalise(word) {
  return String(word).toLowerCase().replace(/[’‘]/g, "'").replace(/[^a-z0-9']+/g, "").replace(/'s$/, "")
    .replace(/^'+|'+$/g, "");
}

/** A transcript's words as {raw, key}, split at spaces and dashes ("good-bye" is two words, as "good bye"). */
export function words(text) {
  return String(text || "").split(/[\s\u2013\u2014-]+/).map((raw) => ({ raw, key: normalise(raw) }))
    .filter((w) => w.key);
}

export class VoiceMode {
  constructor() {
    this.state = "idle"; // idle | awake | prompt | ended
    this.mode = "";
    this.promptWords = [];
    this.lastKey = "";
  }

  get prompt() {
    return this.promptWords.join(" ").replace(/[\s,;:–—-]+$/, "");
  }

  /** Feed one transcript; returns the actions it causes, in order. */
  feed(text) {
    const actions = [];
    for (const word of words(text)) {
      if (this.state === "ended") break;
      this.word(word, actions);
      this.lastKey = word.key;
    }
    // one "prompt so far" per run of words is enough: keep the last of each run
    return actions.filter((a, i) => a.type !== "prompt" || actions[i + 1]?.type !== "prompt");
  }

  word({ raw, key }, actions) {
    const goodbye = key === "goodbye" || (key === "bye" && this.lastKey === "good");
    if (goodbye) {
      this.state = "ended";
      this.mode = "";
      this.promptWords = [];
      actions.push({ type: "end" });
      return;
    }
    if (this.state === "idle") {
      if (WAKE.has(key)) {
        this.state = "awake";
        actions.push({ type: "wake" });
      }
      return; // anything else is not for us
    }
    if (this.state === "awake") {
      if (WAKE.has(key) || FILLERS.has(key)) return;
      const mode = MODE_WORDS.get(key);
      if (mode) {
        this.state = "prompt";
        this.mode = mode;
        this.promptWords = [];
        actions.push({ type: "mode", mode });
      } else {
        this.state = "idle";
        actions.push({ type: "idle", reason: `"${raw}" is not a mode (say chat, imagine or vision)` });
      }
      return;
    }
    // prompt
    if (WAKE.has(key)) {
      const prompt = this.prompt;
      if (!prompt) return; // "computer" before any prompt: nothing to submit yet
      const mode = this.mode;
      this.state = "idle";
      this.mode = "";
      this.promptWords = [];
      actions.push({ type: "submit", mode, prompt });
      return;
    }
    if (key === "mode" && !this.promptWords.length) return; // "chat mode" names the mode too
    this.promptWords.push(raw);
    actions.push({ type: "prompt", mode: this.mode, prompt: this.prompt });
  }
}
