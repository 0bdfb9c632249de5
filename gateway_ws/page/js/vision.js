// The vision tab: an image (a file, dropped, or a photo from the camera) and a prompt; the answer streamed in as
// sanitized Markdown, Stop cancelling the intent in the realm.
import { blobToBase64, el, fill } from "./dom.js";
import { submit, WaitView } from "./intents.js";
import { fillModels } from "./models.js";
import { renderMarkdown } from "./markdown.js";

const MAX_IMAGE_BYTES = 30 * 1024 * 1024; // base64 of it must fit the bridge's 48 MiB frame

export function mount(panel, ctx) {
  const tab = new Vision(panel, ctx);
  ctx.api.vision = { ask: (prompt) => tab.ask(prompt) };
  ctx.on("identity", () => tab.identityChanged());
}

class Vision {
  constructor(panel, ctx) {
    this.ctx = ctx;
    this.panel = panel;
    this.image = null; // the Blob to ask about
    this.previewUrl = null;
    this.camera = null; // the MediaStream while the camera is on
    this.running = null;

    this.file = el("input", { id: "vision-file", type: "file", accept: "image/png,image/jpeg,image/webp",
      onchange: () => { if (this.file.files[0]) this.choose(this.file.files[0]); } });
    this.cameraButton = el("button", { id: "vision-camera", type: "button", class: "secondary",
      onclick: () => (this.camera ? this.stopCamera() : this.startCamera().catch((err) => this.cameraFailed(err))) },
    "Use the camera");
    this.snapButton = el("button", { id: "vision-snap", type: "button", hidden: true,
      onclick: () => this.snap().catch((err) => this.cameraFailed(err)) }, "Take photo");
    this.video = el("video", { id: "vision-video", class: "vision-video", muted: true, playsinline: true,
      autoplay: true, hidden: true, "aria-label": "Camera preview" });
    this.preview = el("img", { id: "vision-preview", class: "vision-preview", alt: "The image to ask about",
      hidden: true });
    this.hint = el("p", { class: "drop-hint" }, "Drop an image here, choose a file, or take a photo.");
    this.drop = el("div", { id: "vision-drop", class: "vision-drop", role: "group", "aria-label": "The image" },
      this.hint, this.preview, this.video,
      el("div", { class: "row" },
        el("label", { for: "vision-file", class: "file-label" }, "Image file"), this.file,
        this.cameraButton, this.snapButton));

    this.prompt = el("textarea", { id: "vision-prompt", rows: 2, placeholder: "What is in this picture?" });
    this.model = el("select", { id: "vision-model" });
    this.askButton = el("button", { id: "vision-ask", type: "submit" }, "Ask");
    this.stopButton = el("button", { id: "vision-stop", type: "button", class: "danger", disabled: true,
      onclick: () => this.stop() }, "Stop");
    this.answer = el("div", { id: "vision-answer", class: "vision-answer markdown", "aria-live": "polite",
      "aria-label": "Answer" });
    this.status = el("div", { class: "vision-status" });

    this.node = el("div", { class: "vision", dataset: { state: "idle" } },
      this.drop,
      el("form", { class: "vision-form", onsubmit: (e) => { e.preventDefault(); this.askInput(); } },
        el("div", { class: "field" }, el("label", { for: "vision-prompt" }, "Question"), this.prompt),
        el("div", { class: "row" }, el("label", { for: "vision-model" }, "Model"), this.model, this.askButton,
          this.stopButton)),
      this.status, this.answer);
    panel.append(this.node);

    this.drop.addEventListener("dragover", (e) => { e.preventDefault(); this.drop.dataset.over = "true"; });
    this.drop.addEventListener("dragleave", () => { delete this.drop.dataset.over; });
    this.drop.addEventListener("drop", (e) => {
      e.preventDefault();
      delete this.drop.dataset.over;
      const file = [...(e.dataTransfer?.files || [])].find((f) => f.type.startsWith("image/"));
      if (file) this.choose(file);
      else this.ctx.toast("Drop an image file (PNG, JPEG or WebP)", "error");
    });
    this.prompt.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.askInput();
      }
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.running && !this.panel.hidden) this.stop();
    });
    ctx.on("tab", (name) => { if (name !== "vision" && this.camera) this.stopCamera(); });
  }

  identityChanged() {
    fillModels(this.model, this.ctx, "KIND_VISION");
  }

  choose(blob) {
    if (blob.size > MAX_IMAGE_BYTES) {
      this.ctx.toast(`That image is too large (${Math.round(blob.size / 1048576)} MiB; at most 30)`, "error");
      return;
    }
    this.image = blob;
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = URL.createObjectURL(blob);
    this.preview.src = this.previewUrl;
    this.preview.hidden = false;
    this.hint.hidden = true;
    this.drop.dataset.bytes = String(blob.size);
  }

  async startCamera() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error("this page cannot use a camera here (it needs https or localhost)");
    }
    this.camera = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    this.video.srcObject = this.camera;
    this.video.hidden = false;
    this.preview.hidden = true;
    this.hint.hidden = true;
    this.snapButton.hidden = false;
    fill(this.cameraButton, "Close the camera");
    await this.video.play().catch(() => {});
    if (!this.video.videoWidth) {
      await new Promise((resolve) => this.video.addEventListener("loadeddata", resolve, { once: true }));
    }
  }

  stopCamera() {
    for (const track of this.camera?.getTracks() || []) track.stop();
    this.camera = null;
    this.video.srcObject = null;
    this.video.hidden = true;
    this.snapButton.hidden = true;
    this.preview.hidden = !this.image;
    this.hint.hidden = !!this.image;
    fill(this.cameraButton, "Use the camera");
  }

  /** The camera's current frame as a PNG, chosen as the image; the camera is closed after. */
  async snap() {
    if (!this.camera) await this.startCamera();
    const canvas = el("canvas", { width: this.video.videoWidth || 640, height: this.video.videoHeight || 480 });
    canvas.getContext("2d").drawImage(this.video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve, reject) => canvas.toBlob(
      (b) => (b ? resolve(b) : reject(new Error("the photo could not be made"))), "image/png"));
    this.stopCamera();
    this.choose(blob);
    return blob;
  }

  cameraFailed(err) {
    this.stopCamera();
    this.ctx.toast(`The camera did not start: ${err.message || err}`, "error");
  }

  askInput() {
    if (this.running) return;
    if (!this.image) {
      this.ctx.toast("Choose an image first (a file, a drop, or a photo)", "error");
      return;
    }
    this.ask(this.prompt.value.trim()).catch(() => {});
  }

  /** Ask `prompt` about the current image (a camera photo if there is none); resolves with the answer's text. */
  async ask(prompt) {
    if (this.running) this.stop();
    if (prompt !== undefined) this.prompt.value = prompt;
    if (!this.image) await this.snap();
    const wait = new WaitView();
    fill(this.status, wait.node);
    this.answer.replaceChildren();
    this.node.dataset.state = "running";
    const vision = { image: await blobToBase64(this.image) };
    if (prompt) vision.prompt = prompt;
    const intent = { vision };
    if (this.model.value) intent.model = this.model.value;
    let text = "";
    const followed = submit(this.ctx.bridge, intent, wait.handlers({
      accepted: (id) => { this.node.dataset.intentId = id; },
      delta: (d) => { if (d.text) { text += d.text; this.render(text); } },
    }));
    this.running = followed;
    this.askButton.disabled = true;
    this.stopButton.disabled = false;
    try {
      const result = await followed.result;
      text = result.text?.text ?? text;
      this.answer.replaceChildren(renderMarkdown(text));
      wait.finished(result);
      this.node.dataset.state = "done";
      return text;
    } catch (err) {
      this.answer.replaceChildren(renderMarkdown(text));
      wait.failed(err);
      this.node.dataset.state = wait.node.dataset.state;
      throw err;
    } finally {
      if (this.running === followed) {
        this.running = null;
        this.askButton.disabled = false;
        this.stopButton.disabled = true;
      }
    }
  }

  render(text) {
    this.text = text;
    this.node.dataset.state = "streaming";
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (this.node.dataset.state === "streaming") this.answer.replaceChildren(renderMarkdown(this.text));
    });
  }

  stop() {
    this.running?.call.cancelIntent();
  }
}
