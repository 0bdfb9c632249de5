// Small pieces the sysop panel's sections share: a section frame, tables, actions that confirm and report errors,
// and formatting of the realm's canonical JSON (64-bit ints as strings, default values left out).
import { el, fill, kindName } from "../dom.js";

export const KINDS = ["KIND_CHAT", "KIND_TRANSCRIBE", "KIND_SPEAK", "KIND_IMAGINE", "KIND_VISION", "KIND_CONVERSE",
  "KIND_EMBED"];

/** A sub-section: {node, body, status}; `onRefresh` adds a Refresh button. */
export function frame(id, title, onRefresh) {
  const headingId = `${id}-title`;
  const status = el("span", { class: "sysop-status", role: "status", "aria-live": "polite" });
  const body = el("div", { class: "sysop-body" });
  const node = el("section", { id, class: "sysop-section", "aria-labelledby": headingId },
    el("div", { class: "sysop-head" },
      el("h3", { id: headingId }, title),
      status,
      onRefresh && el("button", { type: "button", class: "secondary sysop-refresh", "aria-label": `Refresh ${title}`,
        onclick: () => onRefresh() }, "Refresh")),
    body);
  return { node, body, status };
}

/**
 * A scrollable table: {node, tbody}. `headers`: column titles. Each cell gets its column's title as data-label, which
 * the phone layout shows beside the value when rows stack as cards.
 */
export function table(label, headers) {
  const tbody = el("tbody");
  new MutationObserver(() => {
    for (const tr of tbody.children) {
      if (tr.dataset.labelled || tr.classList.contains("sysop-empty")) continue;
      [...tr.children].forEach((td, i) => { if (headers[i]) td.dataset.label = headers[i]; });
      tr.dataset.labelled = "true";
    }
  }).observe(tbody, { childList: true });
  const node = el("div", { class: "sysop-table-wrap" },
    el("table", { class: "sysop-table", "aria-label": label },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      tbody));
  return { node, tbody };
}

/** One row of cells (strings as text, nodes as they are). */
export function row(cells, attrs = {}) {
  return el("tr", attrs, cells.map((c) => el("td", {}, c)));
}

/** An empty table's one row. */
export function emptyRow(columns, text) {
  return el("tr", { class: "sysop-empty" }, el("td", { colspan: columns }, text));
}

/**
 * A click handler for a realm call: asks first when `ask` is given (destructive actions), shows the realm's
 * error as a toast, and hands the reply to `then`.
 */
export function action(ctx, call, { ask, then } = {}) {
  return async (event) => {
    event?.preventDefault?.();
    if (ask && !window.confirm(typeof ask === "function" ? ask() : ask)) return;
    const button = event?.currentTarget instanceof HTMLButtonElement ? event.currentTarget : null;
    if (button) button.disabled = true;
    try {
      const reply = await call();
      await then?.(reply);
    } catch (err) {
      ctx.toast(err.message || String(err), "error");
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  };
}

export function button(label, onclick, attrs = {}) {
  return el("button", { type: "button", class: "secondary", ...attrs, onclick }, label);
}

/** A labelled control: [label, control]. */
export function labelled(text, control) {
  return el("span", { class: "sysop-field" }, el("label", { for: control.id }, text), control);
}

export function num(value, digits = 0) {
  const n = Number(value || 0);
  return digits ? n.toFixed(digits) : String(Math.round(n));
}

export function when(timestamp) {
  if (!timestamp) return "";
  const d = new Date(timestamp);
  return Number.isNaN(d.getTime()) ? String(timestamp) : d.toLocaleString();
}

export function kinds(list) {
  return (list || []).map(kindName).join(", ");
}

export function setStatus(node, text) {
  fill(node, text || "");
}

/** Runs `load` at most once at a time; a request while one runs makes one more run afterwards. */
export function coalesce(load) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) { again = true; return running; }
    running = (async () => {
      do {
        again = false;
        await load();
      } while (again);
    })();
    try { await running; } finally { running = null; }
  };
  return run;
}
