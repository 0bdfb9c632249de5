// Quotas per user: intents per minute and a budget per period; an empty field returns it to the realm's default.
import { el, fill } from "../dom.js";
import { action, emptyRow, frame, labelled, num, row, table, when } from "./ui.js";

const ADMIN = "mtor.v1.Admin/";

function limit(value, digits = 0) {
  return Number(value || 0) === 0 ? "no limit" : num(value, digits);
}

export function quotas(ctx) {
  const f = frame("sysop-quotas", "Quotas", () => refresh());
  const t = table("Quotas of users who used the realm", ["User", "Per minute", "Budget", "Spent", "Period ends"]);
  const user = el("input", { id: "sysop-quota-user", list: "sysop-user-names", required: true, autocomplete: "off" });
  const rpm = el("input", { id: "sysop-quota-rpm", type: "number", min: 0, step: 1, placeholder: "realm default" });
  const budget = el("input", { id: "sysop-quota-budget", type: "number", min: 0, step: "any",
    placeholder: "realm default" });
  const form = el("form", { class: "row sysop-form", "aria-label": "Set a quota",
    onsubmit: action(ctx, () => {
      const request = { user: user.value.trim() };
      if (rpm.value !== "") request.requestsPerMinute = Number(rpm.value);
      if (budget.value !== "") request.budget = Number(budget.value);
      return ctx.bridge.unary(ADMIN + "SetQuota", request);
    }, { then: (q) => {
      ctx.toast(`quota of ${user.value.trim()}: ${limit(q.requestsPerMinute)} per minute, budget ${limit(q.budget, 2)}`);
      return refresh();
    } }) },
  labelled("User", user), labelled("Intents per minute", rpm), labelled("Budget", budget),
  el("button", { type: "submit", id: "sysop-set-quota" }, "Set quota"));
  f.body.append(form, el("p", { class: "sysop-sub" }, "0 means no limit; an empty field means the realm's default."),
    t.node);

  async function refresh() {
    let users;
    try {
      users = (await ctx.bridge.unary(ADMIN + "Stats", {})).users || [];
    } catch (err) {
      ctx.toast(err.message, "error");
      return;
    }
    fill(t.tbody, users.length ? users.map((u) => row([u.user, limit(u.quota?.requestsPerMinute),
      limit(u.quota?.budget, 2), num(u.quota?.spent, 4), when(u.quota?.periodEnds)], { dataset: { user: u.user } }))
      : emptyRow(5, "No user has used the realm yet."));
  }

  return { id: "quotas", title: "Quotas", node: f.node, refresh, clear: () => fill(t.tbody) };
}
