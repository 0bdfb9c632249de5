// The usage tab: the caller's totals and per-kind usage from Account.Usage, and their quota, refreshed when the tab is
// shown, when the identity changes, and on demand.
import { el, fill, kindName } from "./dom.js";

export function mount(panel, ctx) {
  const tab = new Usage(panel, ctx);
  ctx.on("tab", (name) => { if (name === "usage") tab.refresh(); });
  ctx.on("identity", () => { if (!panel.hidden) tab.refresh(); else tab.clear(); });
}

const num = (v) => Number(v ?? 0); // uint64 arrive as strings, defaults are left out
const seconds = (v) => num(v).toFixed(2);
const money = (v) => num(v).toFixed(4);

class Usage {
  constructor(panel, ctx) {
    this.ctx = ctx;
    this.asked = 0; // the latest refresh's number: an older answer that comes late is dropped
    this.refreshButton = el("button", { id: "usage-refresh", type: "button", class: "secondary",
      onclick: () => this.refresh() }, "Refresh");
    this.updated = el("span", { class: "usage-updated", "aria-live": "polite" });
    this.error = el("p", { class: "error", role: "alert" });
    this.totals = el("dl", { id: "usage-totals", class: "usage-totals" });
    this.rows = el("tbody");
    this.table = el("table", { id: "usage-kinds", class: "usage-kinds" },
      el("caption", {}, "Per kind"),
      el("thead", {}, el("tr", {}, ["Kind", "Intents", "Succeeded", "Processing (s)", "Queue wait (s)", "Cost",
        "Mean service (s)"].map((h) => el("th", { scope: "col" }, h)))),
      this.rows);
    this.quota = el("section", { id: "usage-quota", class: "usage-quota", "aria-label": "Quota", hidden: true });
    this.node = el("div", { class: "usage", dataset: { state: "idle" } },
      el("div", { class: "row" }, el("h2", {}, "Your usage"), el("span", { class: "spacer" }), this.updated,
        this.refreshButton),
      this.error, this.totals, el("div", { class: "table-scroll", tabindex: "0", role: "region",
        "aria-label": "Usage per kind" }, this.table), this.quota);
    panel.append(this.node);
    this.clear();
  }

  clear() {
    fill(this.totals);
    fill(this.rows, el("tr", {}, el("td", { colspan: 7, class: "muted" }, "Nothing yet.")));
    this.quota.hidden = true;
    fill(this.updated);
    fill(this.error);
    this.node.dataset.state = "idle";
  }

  async refresh() {
    const asked = ++this.asked;
    this.refreshButton.disabled = true;
    this.node.dataset.state = "loading";
    try {
      const report = await this.ctx.bridge.unary("mtor.v1.Account/Usage", {});
      if (asked !== this.asked) return;
      this.show(report || {});
      fill(this.error);
      fill(this.updated, `updated ${new Date().toLocaleTimeString()}`);
      this.node.dataset.state = "ready";
    } catch (err) {
      if (asked !== this.asked) return;
      fill(this.error, `Could not read your usage: ${err.message || err}`);
      this.node.dataset.state = "failed";
    } finally {
      if (asked === this.asked) this.refreshButton.disabled = false;
    }
  }

  show(report) {
    const term = (name, value, key) => [el("dt", {}, name), el("dd", { dataset: { key } }, value)];
    fill(this.totals,
      term("User", report.user || this.ctx.me.user || "anonymous", "user"),
      term("Intents", String(num(report.intents)), "intents"),
      term("Processing", `${seconds(report.processingS)} s`, "processing"),
      term("Cost", money(report.cost), "cost"));
    const kinds = report.kinds || [];
    fill(this.rows, kinds.length ? kinds.map((k) => el("tr", { dataset: { kind: kindName(k.kind) } },
      el("th", { scope: "row" }, kindName(k.kind)),
      [num(k.intents), num(k.succeeded), seconds(k.processingS), seconds(k.queueWaitS), money(k.cost),
        seconds(k.meanServiceS)].map((v, i) => el("td", { dataset: { col: COLUMNS[i] } }, String(v)))))
      : el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No intents yet.")));
    this.showQuota(report.quota);
  }

  showQuota(q) {
    if (!q) {
      this.quota.hidden = true;
      return;
    }
    const rpm = num(q.requestsPerMinute);
    const budget = num(q.budget);
    const ends = q.periodEnds ? new Date(q.periodEnds) : null;
    fill(this.quota, el("h3", {}, "Quota"), el("dl", { class: "usage-totals" },
      el("dt", {}, "Requests per minute"), el("dd", { dataset: { key: "rpm" } }, rpm ? String(rpm) : "no limit"),
      el("dt", {}, "Budget"), el("dd", { dataset: { key: "budget" } }, budget
        ? `${money(budget)} per ${periodText(num(q.budgetPeriodS))}` : "no limit"),
      el("dt", {}, "Spent this period"), el("dd", { dataset: { key: "spent" } }, budget
        ? `${money(q.spent)} (${Math.min(100, Math.round((num(q.spent) / budget) * 100))} %)` : money(q.spent)),
      ends && el("dt", {}, "Period ends"),
      ends && el("dd", { dataset: { key: "ends" } }, el("time", { datetime: q.periodEnds }, ends.toLocaleString()))));
    this.quota.hidden = false;
  }
}

const COLUMNS = ["intents", "succeeded", "processing", "queue-wait", "cost", "mean-service"];

function periodText(s) {
  if (!s) return "period";
  if (s % 86400 === 0) return s === 86400 ? "day" : `${s / 86400} days`;
  if (s % 3600 === 0) return s === 3600 ? "hour" : `${s / 3600} hours`;
  return `${s} s`;
}
