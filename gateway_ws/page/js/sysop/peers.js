// Peer realms and the federation's usage both ways.
import { el, fill } from "../dom.js";
import { emptyRow, frame, kinds, num, row, table, when } from "./ui.js";

const PEERS = "mtor.v1.Peers/";

function totals(t = {}) {
  return `${t.intents || 0} (${t.succeeded || 0} ok), ${num(t.processingS, 1)} s, cost ${num(t.cost, 4)}`;
}

export function peers(ctx) {
  const f = frame("sysop-peers", "Peers", () => refresh());
  const list = table("Peer realms", ["Peer", "Address", "State", "Accepts", "Limits", "Round trip", "Running",
    "Reported"]);
  const usage = table("Federation usage", ["Peer", "Served for them", "Served for us"]);
  f.body.append(list.node, el("h4", {}, "Federation usage"), usage.node);

  async function refresh() {
    try {
      const [p, u] = await Promise.all([ctx.bridge.unary(PEERS + "ListPeers", {}),
        ctx.bridge.unary(PEERS + "FederationUsage", {})]);
      const ps = p.peers || [];
      fill(list.tbody, ps.length ? ps.map((x) => row([x.name, x.address || "(local network)",
        el("span", { title: x.detail || "" }, String(x.state || "").replace(/^PEER_STATE_/, "").toLowerCase(),
          x.detail ? `: ${x.detail}` : ""),
        kinds(x.kinds) || "every kind",
        `${x.requestsPerMinute ? `${x.requestsPerMinute}/min` : "no rate limit"}, ` +
          `${x.budget ? `budget ${num(x.budget, 2)}` : "no budget"}`,
        x.rttMs ? `${num(x.rttMs, 1)} ms` : "", String(x.running || 0), when(x.reportedAt)],
      { dataset: { peer: x.name } })) : emptyRow(8, "No peer realms."));
      const us = u.peers || [];
      fill(usage.tbody, us.length ? us.map((x) => row([x.peer, totals(x.servedForThem), totals(x.servedForUs)]))
        : emptyRow(3, "No federated intents yet."));
    } catch (err) {
      ctx.toast(err.message, "error");
    }
  }

  return { id: "peers", title: "Peers", node: f.node, refresh,
    clear: () => { fill(list.tbody); fill(usage.tbody); } };
}
