// The queue: running intents, then queued ones in the order they will start; cancel one, or clear a kind or all.
import { el, fill, kindName } from "../dom.js";
import { action, button, emptyRow, frame, KINDS, labelled, row, table, when } from "./ui.js";

const ADMIN = "mtor.v1.Admin/";

function stateText(intent) {
  const state = String(intent.state || "").replace(/^INTENT_STATE_/, "").toLowerCase();
  return intent.queuePosition ? `${state} #${intent.queuePosition}` : state;
}

export function queue(ctx) {
  const f = frame("sysop-queue", "Queue", () => refresh());
  const t = table("Queue", ["State", "Kind", "Model", "User", "Worker", "Since", "Intent", ""]);
  const kind = el("select", { id: "sysop-clear-kind" },
    el("option", { value: "" }, "every kind"), KINDS.map((k) => el("option", { value: k }, kindName(k))));
  const clear = button("Clear queued", action(ctx, () => ctx.bridge.unary(ADMIN + "ClearQueue",
    kind.value ? { kind: kind.value } : {}), {
    ask: () => `Cancel every queued intent of ${kind.value ? kindName(kind.value) : "every kind"}? Running ones finish.`,
    then: (r) => { ctx.toast(`${r.cancelled || 0} intents cancelled`); return refresh(); },
  }), { id: "sysop-clear-queue", class: "danger" });
  f.body.append(el("div", { class: "row" }, labelled("Clear", kind), clear), t.node);

  async function refresh() {
    let entries;
    try {
      entries = (await ctx.bridge.unary(ADMIN + "ListQueue", {})).entries || [];
    } catch (err) {
      ctx.toast(err.message, "error");
      return;
    }
    fill(t.tbody, entries.length ? entries.map(entryRow) : emptyRow(8, "Nothing queued or running."));
  }

  function entryRow({ intent, user }) {
    const id = intent.intentId;
    const cancel = button("Cancel", action(ctx, () => ctx.bridge.unary(ADMIN + "CancelIntent", { intentId: id }), {
      ask: `Cancel intent ${id.slice(0, 8)} of ${user || "anonymous"}?`,
      then: () => refresh(),
    }), { class: "danger", "aria-label": `Cancel intent ${id}` });
    return row([stateText(intent), kindName(intent.kind), intent.model || "any", user || "", intent.worker || "",
      when(intent.startedAt || intent.createdAt), el("code", { title: id }, id.slice(0, 8)), cancel],
    { dataset: { intent: id } });
  }

  return { id: "queue", title: "Queue", node: f.node, refresh, live: true, clear: () => fill(t.tbody) };
}
