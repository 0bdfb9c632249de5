// A bar chart of intents and service time per kind, drawn as SVG nodes (no library, no markup strings).
import { kindName } from "../dom.js";

const NS = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const LABEL_W = 110;
const VALUE_W = 90;
const BAR_H = 14;
const ROW_H = 2 * BAR_H + 16;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function seconds(s) {
  return s >= 10 ? s.toFixed(0) : s >= 1 ? s.toFixed(1) : s.toPrecision(2);
}

/** kinds: KindUsage[] (canonical JSON). Two bars per kind, each scaled to its own largest value. */
export function kindChart(kinds) {
  const rows = kinds.map((k) => ({ kind: kindName(k.kind), intents: Number(k.intents || 0),
    seconds: Number(k.processingS || 0) }));
  const maxIntents = Math.max(1, ...rows.map((r) => r.intents));
  const maxSeconds = Math.max(0.001, ...rows.map((r) => r.seconds));
  const span = WIDTH - LABEL_W - VALUE_W;
  const legendH = 24;
  const height = legendH + Math.max(1, rows.length) * ROW_H;
  const summary = rows.map((r) => `${r.kind}: ${r.intents} intents, ${seconds(r.seconds)} s`).join("; ");
  const chart = svg("svg", { class: "sysop-chart", viewBox: `0 0 ${WIDTH} ${height}`, role: "img",
    "aria-label": `Intents and service time per kind. ${summary || "No intents yet."}` },
  svg("title", {}, "Intents and service time per kind"),
  svg("rect", { class: "bar intents", x: 0, y: 4, width: 12, height: 12 }),
  svg("text", { class: "legend", x: 18, y: 15 }, "intents"),
  svg("rect", { class: "bar seconds", x: 100, y: 4, width: 12, height: 12 }),
  svg("text", { class: "legend", x: 118, y: 15 }, "service time (s)"));
  if (!rows.length) chart.append(svg("text", { class: "legend", x: 0, y: legendH + 18 }, "No intents yet."));
  rows.forEach((r, i) => {
    const y = legendH + i * ROW_H;
    const wi = Math.max(1, (r.intents / maxIntents) * span);
    const ws = Math.max(1, (r.seconds / maxSeconds) * span);
    chart.append(
      svg("text", { class: "label", x: 0, y: y + BAR_H + 4 }, r.kind),
      svg("rect", { class: "bar intents", x: LABEL_W, y, width: wi, height: BAR_H, rx: 2 }),
      svg("text", { class: "value", x: LABEL_W + wi + 6, y: y + BAR_H - 3 }, String(r.intents)),
      svg("rect", { class: "bar seconds", x: LABEL_W, y: y + BAR_H + 2, width: ws, height: BAR_H, rx: 2 }),
      svg("text", { class: "value", x: LABEL_W + ws + 6, y: y + 2 * BAR_H - 1 }, `${seconds(r.seconds)} s`));
  });
  return chart;
}
