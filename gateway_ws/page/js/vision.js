// The vision tab (to be written).
import { el } from "./dom.js";

export function mount(panel, ctx) {
  panel.append(el("p", {}, "vision: coming soon"));
}
