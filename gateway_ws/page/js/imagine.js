// The imagine tab: prompt, size, steps, seed and model; a progress bar from the realm's progress deltas; Stop
// cancelling the intent in the realm; a gallery of results with download, kept in this browser (IndexedDB, per user).
import { base64ToBlob, el, fill } from "./dom.js";
import { submit, WaitView } from "./intents.js";
import { fillModels } from "./models.js";

const SIZES = [[64, 64], [128, 128], [256, 256], [512, 512], [768, 768], [1024, 1024], [768, 512], [512, 768]];
const DEFAULT_SIZE = "512x512";
const DEFAULT_STEPS = 20;
const GALLERY_LIMIT = 40; // images kept per user in this browser

export function mount(panel, ctx) {
  const tab = new Imagine(panel, ctx);
  ctx.api.imagine = { generate: (prompt) => tab.generate(prompt) };
  ctx.on("identity", () => tab.identityChanged());
}

class Imagine {
  constructor(panel, ctx) {
    this.ctx = ctx;
    this.panel = panel;
    this.running = null; // the followed submit() of the image being made
    this.gallery = new Gallery(ctx, (item) => this.reuseSeed(item));

    this.prompt = el("textarea", { id: "imagine-prompt", rows: 3, required: true,
      placeholder: "A lighthouse at dusk, oil painting" });
    this.negative = el("input", { id: "imagine-negative", type: "text", placeholder: "blurry, text" });
    this.size = el("select", { id: "imagine-size" }, SIZES.map(([w, h]) => el("option",
      { value: `${w}x${h}`, selected: `${w}x${h}` === DEFAULT_SIZE }, `${w} × ${h}`)));
    this.steps = el("input", { id: "imagine-steps", type: "number", min: 1, max: 150, step: 1,
      value: String(DEFAULT_STEPS) });
    this.seed = el("input", { id: "imagine-seed", type: "text", inputmode: "numeric", pattern: "-?[0-9]*",
      placeholder: "random", title: "A whole number repeats an image; blank for a random one" });
    this.model = el("select", { id: "imagine-model" });
    this.go = el("button", { id: "imagine-go", type: "submit" }, "Generate");
    this.stopButton = el("button", { id: "imagine-stop", type: "button", class: "danger", disabled: true,
      onclick: () => this.stop() }, "Stop");
    this.progress = el("progress", { id: "imagine-progress", max: 1, value: 0, "aria-label": "Image progress",
      hidden: true });
    this.status = el("div", { class: "imagine-status" });

    const field = (id, label, control) => el("div", { class: "field" }, el("label", { for: id }, label), control);
    this.node = el("div", { class: "imagine", dataset: { state: "idle" } },
      this.form = el("form", { class: "imagine-form", "aria-label": "Image settings",
        onsubmit: (e) => { e.preventDefault(); this.generateInput(); } },
        field("imagine-prompt", "Prompt", this.prompt),
        field("imagine-negative", "Negative prompt", this.negative),
        el("div", { class: "fields" },
          field("imagine-size", "Size", this.size),
          field("imagine-steps", "Steps", this.steps),
          field("imagine-seed", "Seed", this.seed),
          field("imagine-model", "Model", this.model)),
        el("div", { class: "row" }, this.go, this.stopButton),
        this.progress, this.status),
      el("section", { class: "imagine-results", "aria-label": "Your images" },
        el("h2", {}, "Gallery"), this.gallery.node));
    panel.append(this.node);

    this.prompt.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.generateInput();
      }
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.running && !this.panel.hidden) this.stop();
    });
  }

  identityChanged() {
    fillModels(this.model, this.ctx, "KIND_IMAGINE");
    this.gallery.load();
  }

  generateInput() {
    const prompt = this.prompt.value.trim();
    if (!prompt || this.running || !this.form.reportValidity()) return;
    this.generate(prompt).catch(() => {});
  }

  /** The form's settings with this prompt, as an IntentRequest. */
  intent(prompt) {
    const [width, height] = this.size.value.split("x").map(Number);
    const imagine = { prompt, width, height };
    if (this.negative.value.trim()) imagine.negativePrompt = this.negative.value.trim();
    const steps = Math.round(Number(this.steps.value));
    if (steps > 0) imagine.steps = steps;
    const seed = this.seed.value.trim();
    if (/^-?\d+$/.test(seed)) imagine.seed = seed; // int64: a string in protobuf JSON
    const intent = { imagine };
    if (this.model.value) intent.model = this.model.value;
    return intent;
  }

  /** Make an image of `prompt` with the form's current settings; resolves with the IntentResult. */
  generate(prompt) {
    if (this.running) this.stop();
    this.prompt.value = prompt;
    const intent = this.intent(prompt);
    const wait = new WaitView();
    fill(this.status, wait.node);
    this.setProgress(0);
    this.progress.hidden = false;
    this.node.dataset.state = "running";
    const followed = submit(this.ctx.bridge, intent, wait.handlers({
      accepted: (id) => { this.node.dataset.intentId = id; },
      delta: (d) => { if (typeof d.fraction === "number") this.setProgress(d.fraction); },
    }));
    this.running = followed;
    this.go.disabled = true;
    this.stopButton.disabled = false;

    return followed.result.then((result) => {
      wait.finished(result);
      this.setProgress(1);
      this.node.dataset.state = "done";
      const image = result.image || {};
      this.gallery.add({ // shown at once; kept in IndexedDB in the background
        prompt, negative: intent.imagine.negativePrompt || "", model: result.model || "",
        width: image.width || intent.imagine.width, height: image.height || intent.imagine.height,
        steps: intent.imagine.steps || 0, seed: String(image.seed ?? "0"),
        png: base64ToBlob(image.png || "", "image/png"),
      });
      return result;
    }, (err) => {
      wait.failed(err);
      this.progress.hidden = true;
      this.node.dataset.state = wait.node.dataset.state;
      throw err;
    }).finally(() => {
      if (this.running === followed) {
        this.running = null;
        this.go.disabled = false;
        this.stopButton.disabled = true;
      }
    });
  }

  setProgress(fraction) {
    const f = Math.min(Math.max(Number(fraction) || 0, 0), 1);
    this.progress.value = f;
    this.progress.dataset.fraction = String(f);
    this.progress.setAttribute("aria-valuetext", `${Math.round(f * 100)} %`);
  }

  stop() {
    this.running?.call.cancelIntent();
  }

  reuseSeed(item) {
    this.seed.value = item.seed;
    this.prompt.focus();
    this.ctx.toast(`Seed ${item.seed} will be used for the next image`);
  }
}

/** The results, newest first: in memory, and in IndexedDB when the browser allows it. */
class Gallery {
  constructor(ctx, onReuse) {
    this.ctx = ctx;
    this.onReuse = onReuse;
    this.urls = new Map(); // item id -> object URL, revoked when the item leaves the page
    this.node = el("ol", { id: "imagine-gallery", class: "gallery", "aria-live": "polite" });
    this.empty = el("p", { class: "muted gallery-empty" }, "No images yet.");
    this.node.append(this.empty);
    this.store = new ImageStore();
    this.loading = 0;
  }

  user() {
    return this.ctx.me.user || "anonymous";
  }

  async load() {
    const ticket = ++this.loading;
    const items = await this.store.list(this.user()).catch(() => []);
    if (ticket !== this.loading) return; // a newer identity's gallery is coming
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
    this.urls.clear();
    fill(this.node, this.empty, items.map((item) => {
      const li = this.figure(item);
      li.dataset.saved = "true";
      return li;
    }));
    this.empty.hidden = items.length > 0;
  }

  async add(fields) {
    const item = { id: crypto.randomUUID(), user: this.user(), time: Date.now(), ...fields };
    const li = this.figure(item);
    this.node.insertBefore(li, this.empty.nextSibling);
    this.empty.hidden = true;
    await this.store.put(item).then(() => { li.dataset.saved = "true"; },
      () => {}); // private windows may refuse: the page's copy remains
    const extra = [...this.node.querySelectorAll("li.shot")].slice(GALLERY_LIMIT);
    for (const li of extra) this.remove(li);
  }

  figure(item) {
    const url = URL.createObjectURL(item.png);
    this.urls.set(item.id, url);
    const size = `${item.width} × ${item.height}`;
    const li = el("li", { class: "shot", dataset: { id: item.id, seed: item.seed } },
      el("figure", {},
        el("img", { src: url, alt: item.prompt, width: item.width, height: item.height }),
        el("figcaption", {},
          el("span", { class: "caption-prompt" }, item.prompt),
          el("span", { class: "caption-meta" }, [size, `seed ${item.seed}`, item.steps && `${item.steps} steps`,
            item.model].filter(Boolean).join(" · ")))),
      el("div", { class: "tools" },
        el("a", { class: "download", href: url, download: `mtor-${item.seed}.png` }, "Download"),
        el("button", { type: "button", class: "secondary reuse", onclick: () => this.onReuse(item) },
          "Use this seed again"),
        el("button", { type: "button", class: "secondary remove", "aria-label": `Remove the image of ${item.prompt}`,
          onclick: () => this.remove(li) }, "Remove")));
    return li;
  }

  remove(li) {
    const id = li.dataset.id;
    URL.revokeObjectURL(this.urls.get(id));
    this.urls.delete(id);
    li.remove();
    this.empty.hidden = !!this.node.querySelector("li.shot");
    this.store.delete(id).catch(() => {});
  }
}

/** IndexedDB "mtor.imagine": one record per image ({id, user, time, prompt, ..., png: Blob}). */
class ImageStore {
  constructor() {
    this.db = null;
  }

  open() {
    this.db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open("mtor.imagine", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("images", { keyPath: "id" }).createIndex("user", "user");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return this.db;
  }

  async run(mode, work) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("images", mode);
      const req = work(tx.objectStore("images"));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error); // e.g. the browser's storage quota is full
    });
  }

  async list(user) {
    const items = await this.run("readonly", (s) => s.index("user").getAll(user));
    return (items || []).sort((a, b) => b.time - a.time).slice(0, GALLERY_LIMIT);
  }

  put(item) {
    return this.run("readwrite", (s) => s.put(item));
  }

  delete(id) {
    return this.run("readwrite", (s) => s.delete(id));
  }
}
