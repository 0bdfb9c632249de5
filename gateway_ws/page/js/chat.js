// The chat tab: the conversation sent as messages, the answer streamed in as sanitized Markdown, Stop cancelling the
// intent in the realm, a model or pool picker from the realm, and conversations kept in this browser.
import { el, fill } from "./dom.js";
import { IntentFailed, submit, WaitView } from "./intents.js";
import { renderMarkdown } from "./markdown.js";
import { fillModels } from "./models.js";

const HISTORY_LIMIT = 50; // conversations kept per user in localStorage

export function mount(panel, ctx) {
  const chat = new Chat(panel, ctx);
  ctx.api.chat = { send: (prompt) => chat.send(prompt) };
  ctx.on("identity", () => chat.identityChanged());
}

class Chat {
  constructor(panel, ctx) {
    this.ctx = ctx;
    this.panel = panel;
    this.conversation = newConversation();
    this.running = null; // {call, view} of the answer being streamed

    this.model = el("select", { id: "chat-model", "aria-label": "Model or pool" });
    this.list = el("ol", { class: "history-list", "aria-label": "Earlier conversations" });
    this.log = el("div", { id: "chat-log", class: "chat-log", role: "log", "aria-live": "polite",
      "aria-label": "Conversation" });
    this.input = el("textarea", { id: "chat-input", rows: 3, placeholder: "Ask anything (Enter sends, Shift+Enter " +
      "a new line, Esc stops)", "aria-label": "Your message" });
    this.temperature = el("input", { id: "chat-temperature", type: "number", min: 0, max: 2, step: 0.1,
      placeholder: "worker's", inputmode: "decimal" });
    this.maxTokens = el("input", { id: "chat-max-tokens", type: "number", min: 1, max: 32768, step: 1,
      placeholder: "worker's", inputmode: "numeric" });
    this.sendButton = el("button", { id: "chat-send", type: "submit" }, "Send");
    this.stopButton = el("button", { id: "chat-stop", type: "button", disabled: true,
      onclick: () => this.stop() }, "Stop");

    panel.append(
      el("div", { class: "chat" },
        el("aside", { class: "history", "aria-label": "Conversations" },
          el("button", { id: "chat-new", type: "button", onclick: () => this.startNew() }, "New chat"),
          this.list),
        el("div", { class: "chat-main" },
          el("div", { class: "row chat-settings" }, el("label", { for: "chat-model" }, "Model"), this.model,
            el("label", { for: "chat-temperature" }, "Temperature"), this.temperature,
            el("label", { for: "chat-max-tokens" }, "Max tokens"), this.maxTokens),
          this.log,
          el("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); this.sendInput(); } },
            this.input, el("div", { class: "buttons" }, this.sendButton, this.stopButton)))));

    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendInput();
      }
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.running && !this.panel.hidden) this.stop();
    });
  }

  identityChanged() {
    fillModels(this.model, this.ctx, "KIND_CHAT");
    this.conversation = newConversation();
    this.renderConversation();
    this.renderHistory();
  }

  sendInput() {
    const prompt = this.input.value.trim();
    if (!prompt || this.running) return;
    this.input.value = "";
    this.send(prompt).catch(() => {});
  }

  /** Ask `prompt` as the next turn of the conversation; resolves with the answer's text. */
  send(prompt) {
    if (this.running) this.stop();
    const messages = [...this.conversation.messages, { role: "user", content: prompt }];
    this.conversation.messages.push({ role: "user", content: prompt });
    if (!this.conversation.title) this.conversation.title = prompt.slice(0, 60);
    this.log.append(userMessage(prompt));

    const view = new AnswerView(this.ctx);
    this.log.append(view.node);
    const wait = view.wait;
    let text = "";
    const intent = { chat: { messages, ...this.settings() } };
    if (this.model.value) intent.model = this.model.value;
    const followed = submit(this.ctx.bridge, intent, wait.handlers({
      accepted: (id) => { view.node.dataset.intentId = id; },
      delta: (d) => { if (d.text) { text += d.text; view.stream(text); } },
    }));
    this.running = { call: followed.call, view };
    this.stopButton.disabled = false;
    this.sendButton.disabled = true;
    view.node.scrollIntoView({ block: "end" });

    return followed.result.then((result) => {
      text = result.text?.text ?? text;
      view.done(text, result);
      this.conversation.messages.push({ role: "assistant", content: text });
      return text;
    }, (err) => {
      view.failed(text, err);
      if (text) this.conversation.messages.push({ role: "assistant", content: text });
      throw err;
    }).finally(() => {
      if (this.running?.view === view) this.running = null;
      this.stopButton.disabled = true;
      this.sendButton.disabled = false;
      this.save();
    });
  }

  /** Temperature and max tokens where the form sets them; left out, the worker's own defaults apply. */
  settings() {
    const out = {};
    const temperature = this.temperature.valueAsNumber;
    if (Number.isFinite(temperature) && temperature >= 0) out.temperature = temperature;
    const maxTokens = Math.round(this.maxTokens.valueAsNumber);
    if (Number.isFinite(maxTokens) && maxTokens > 0) out.maxTokens = maxTokens;
    return out;
  }

  stop() {
    this.running?.call.cancelIntent();
  }

  startNew() {
    if (this.running) this.stop();
    this.conversation = newConversation();
    this.renderConversation();
    this.input.focus();
  }

  renderConversation() {
    fill(this.log, ...this.conversation.messages.map((m) => (m.role === "user"
      ? userMessage(m.content) : new AnswerView(this.ctx, m.content).node)));
  }

  // conversations in localStorage, per user: this browser's history, not the realm's
  historyKey() {
    return `mtor.chats.${this.ctx.me.user || "anonymous"}`;
  }

  loadHistory() {
    try {
      const list = JSON.parse(localStorage.getItem(this.historyKey()) || "[]");
      return Array.isArray(list) ? list.filter((c) => c && Array.isArray(c.messages)) : [];
    } catch {
      return [];
    }
  }

  save() {
    if (!this.conversation.messages.length) return;
    this.conversation.updated = Date.now();
    const list = [this.conversation, ...this.loadHistory().filter((c) => c.id !== this.conversation.id)];
    localStorage.setItem(this.historyKey(), JSON.stringify(list.slice(0, HISTORY_LIMIT)));
    this.renderHistory();
  }

  renderHistory() {
    fill(this.list, ...this.loadHistory().map((c) => el("li", {},
      el("button", { type: "button", class: "link", title: new Date(c.updated || 0).toLocaleString(),
        onclick: () => { this.conversation = c; this.renderConversation(); } }, String(c.title || "untitled")))));
  }
}

function newConversation() {
  return { id: crypto.randomUUID(), title: "", messages: [], updated: 0 };
}

function userMessage(text) {
  return el("div", { class: "msg user" }, el("div", { class: "who" }, "You"), el("div", { class: "content plain" },
    text));
}

/** One answer: its Markdown, its waiting line, and a button to hear it. */
class AnswerView {
  constructor(ctx, text = null) {
    this.ctx = ctx;
    this.wait = new WaitView();
    this.content = el("div", { class: "content markdown" });
    this.speakButton = el("button", { type: "button", class: "speak", "aria-label": "Read the answer aloud",
      onclick: () => this.readAloud() }, "Read aloud");
    this.node = el("div", { class: "msg assistant", dataset: { state: "waiting" } },
      el("div", { class: "who" }, "MTOR"), this.content, this.wait.node, el("div", { class: "tools" },
        this.speakButton));
    this.text = "";
    this.pending = false;
    if (text !== null) {
      this.wait.node.hidden = true;
      this.done(text, null);
    }
  }

  stream(text) {
    this.text = text;
    this.node.dataset.state = "streaming";
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.content.replaceChildren(renderMarkdown(this.text));
    });
  }

  done(text, result) {
    this.text = text;
    this.content.replaceChildren(renderMarkdown(text));
    this.node.dataset.state = "done";
    if (result) this.wait.finished(result);
  }

  failed(text, err) {
    this.text = text;
    this.content.replaceChildren(renderMarkdown(text));
    this.wait.failed(err);
    this.node.dataset.state = err instanceof IntentFailed && err.cancelled ? "cancelled" : "failed";
  }

  async readAloud() {
    if (!this.text) return;
    this.speakButton.disabled = true;
    try {
      await this.ctx.speak(this.text);
    } catch (err) {
      this.ctx.toast(`Could not speak the answer: ${err.message}`, "error");
    } finally {
      this.speakButton.disabled = false;
    }
  }
}
