// Stats: a chart of intents and service time per kind, the same as a table, and usage per user.
import { el, fill, kindName } from "../dom.js";
import { emptyRow, frame, num, row, table } from "./ui.js";
import { kindChart } from "./chart.js";

export function stats(ctx) {
  const f = frame("sysop-stats", "Stats", () => refresh());
  const summary = el("p", { class: "sysop-summary" });
  const chartBox = el("div", { class: "sysop-chart-box" });
  const perKind = table("Usage per kind", ["Kind", "Intents", "Succeeded", "Service time (s)", "Mean (s)",
    "Queue wait (s)", "Cost"]);
  const perUser = table("Usage per user", ["User", "Intents", "Service time (s)", "Cost"]);
  f.body.append(summary, chartBox, el("h4", {}, "Per kind"), perKind.node, el("h4", {}, "Per user"), perUser.node);

  async function refresh() {
    let s;
    try {
      s = await ctx.bridge.unary("mtor.v1.Admin/Stats", {});
    } catch (err) {
      ctx.toast(err.message, "error");
      return;
    }
    const realm = s.realm || {};
    const kinds = realm.kinds || [];
    fill(summary, `${num(realm.intents)} intents, ${num(realm.processingS, 1)} s of service, cost ` +
      `${num(realm.cost, 4)}; users connected now: ${s.usersConnected || 0} (most at once: ${s.mostUsersConnected || 0}).`);
    fill(chartBox, kindChart(kinds));
    fill(perKind.tbody, kinds.length ? kinds.map((k) => row([kindName(k.kind), num(k.intents), num(k.succeeded),
      num(k.processingS, 2), num(k.meanServiceS, 3), num(k.queueWaitS, 2), num(k.cost, 4)],
    { dataset: { kind: kindName(k.kind) } })) : emptyRow(7, "No intents yet."));
    const users = s.users || [];
    fill(perUser.tbody, users.length ? users.map((u) => row([u.user, num(u.intents), num(u.processingS, 2),
      num(u.cost, 4)])) : emptyRow(4, "No user has used the realm yet."));
  }

  return { id: "stats", title: "Stats", node: f.node, refresh, live: true,
    clear: () => { fill(summary); fill(chartBox); fill(perKind.tbody); fill(perUser.tbody); } };
}
