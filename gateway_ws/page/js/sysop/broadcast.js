// A notice to every caller following Intents/Notices (the page's shell shows them live).
import { el, fill } from "../dom.js";
import { action, frame } from "./ui.js";

export function broadcast(ctx) {
  const f = frame("sysop-broadcast", "Broadcast");
  const text = el("textarea", { id: "sysop-broadcast-text", rows: 2, required: true, maxlength: 2000,
    placeholder: "e.g. The realm restarts at noon." });
  const result = el("p", { class: "sysop-sub", role: "status", "aria-live": "polite" });
  f.body.append(el("form", { class: "sysop-broadcast", "aria-label": "Broadcast a notice",
    onsubmit: action(ctx, () => ctx.bridge.unary("mtor.v1.Admin/Broadcast", { text: text.value.trim() }), {
      then: (r) => { fill(result, `Sent to ${r.recipients || 0} callers.`); text.value = ""; },
    }) },
  el("label", { for: text.id }, "Notice to every caller"), text,
  el("div", { class: "row" }, el("button", { type: "submit", id: "sysop-broadcast-send" }, "Broadcast"))), result);

  return { id: "broadcast", title: "Broadcast", node: f.node, refresh: async () => {}, clear: () => fill(result) };
}
