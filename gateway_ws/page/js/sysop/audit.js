// The audit log, newest first.
import { el, fill } from "../dom.js";
import { emptyRow, frame, labelled, row, table, when } from "./ui.js";

export function audit(ctx) {
  const f = frame("sysop-audit", "Audit log", () => refresh());
  const t = table("Audit log", ["When", "Sysop", "Action", "Target", "Detail"]);
  const limit = el("select", { id: "sysop-audit-limit", onchange: () => refresh() },
    [50, 100, 500].map((n) => el("option", { value: String(n), selected: n === 100 }, String(n))));
  f.body.append(el("div", { class: "row" }, labelled("Entries", limit)), t.node);

  async function refresh() {
    let entries;
    try {
      entries = (await ctx.bridge.unary("mtor.v1.Admin/ListAudit", { limit: Number(limit.value) })).entries || [];
    } catch (err) {
      ctx.toast(err.message, "error");
      return;
    }
    fill(t.tbody, entries.length ? entries.map((e) => row([when(e.time), e.actor || "", e.action || "",
      e.target || "", e.detail || ""], { dataset: { action: e.action || "" } })) : emptyRow(5, "Nothing yet."));
  }

  return { id: "audit", title: "Audit log", node: f.node, refresh, clear: () => fill(t.tbody) };
}
