// Workers, coloured by health and updated live from WatchRealm snapshots; drain, blacklist, readmit and remove.
// Rows are kept by name and updated in place, so a button keeps its focus while snapshots arrive.
import { el, fill, kindName } from "../dom.js";
import { action, button, emptyRow, frame, table } from "./ui.js";

const ADMIN = "mtor.v1.Admin/";

/** blacklisted | bad (< 50) | poor (< 80) | good */
export function healthClass(w) {
  const health = w.health || 0;
  if (w.blacklisted) return "blacklisted";
  if (health < 50) return "bad";
  if (health < 80) return "poor";
  return "good";
}

function stateOf(w) {
  if (w.blacklistedBySysop) return ["blacklisted", "blacklisted by the sysop"];
  if (w.blacklisted) return ["blacklisted", "blacklisted (health)"];
  if (w.draining) return ["draining", "draining"];
  return ["serving", (w.running || 0) > 0 ? "serving (busy)" : "serving"];
}

function serves(w) {
  return (w.capabilities || []).map((c) => `${kindName(c.kind)}: ${(c.models || []).join(", ") || "any model"}`)
    .join("; ");
}

export function workers(ctx) {
  const f = frame("sysop-workers", "Workers", () => refresh());
  const t = table("Workers", ["Worker", "Health", "Running", "Serves", "State", "Actions"]);
  const rows = new Map(); // name -> {tr, cells, buttons}
  const empty = emptyRow(6, "No workers connected.");
  const legend = el("p", { class: "sysop-legend" },
    el("span", { class: "sysop-badge good" }, "healthy (80+)"), " ",
    el("span", { class: "sysop-badge poor" }, "below 80"), " ",
    el("span", { class: "sysop-badge bad" }, "below 50"), " ",
    el("span", { class: "sysop-badge blacklisted" }, "blacklisted"));
  f.body.append(legend, t.node);

  const call = (method, name, verb) => action(ctx, () => ctx.bridge.unary(ADMIN + method, { name }), {
    ask: method === "RemoveWorker"
      ? `Remove worker “${name}”? It is disconnected now and refused until readmitted.` : undefined,
    then: () => ctx.toast(`${name}: ${verb}`),
  });

  function makeRow(name) {
    const cells = Array.from({ length: 5 }, () => el("td"));
    const buttons = {
      drain: button("Drain", call("DrainWorker", name, "draining"), { class: "secondary drain",
        "aria-label": `Drain ${name}` }),
      blacklist: button("Blacklist", call("BlacklistWorker", name, "blacklisted"), { class: "secondary blacklist",
        "aria-label": `Blacklist ${name}` }),
      readmit: button("Readmit", call("ReadmitWorker", name, "readmitted"), { class: "secondary readmit",
        "aria-label": `Readmit ${name}` }),
      remove: button("Remove", call("RemoveWorker", name, "removed"), { class: "danger remove",
        "aria-label": `Remove ${name}` }),
    };
    const tr = el("tr", { class: "sysop-worker", dataset: { worker: name } }, cells,
      el("td", {}, el("span", { class: "sysop-actions" }, Object.values(buttons))));
    return { tr, cells, buttons };
  }

  function update(r, w) {
    const hc = healthClass(w);
    const [state, stateText] = stateOf(w);
    r.tr.dataset.healthClass = hc;
    r.tr.dataset.state = state;
    const bar = el("span", { class: "sysop-health-bar" });
    bar.style.width = `${Math.min(100, w.health || 0)}%`;
    const device = (w.devices || [])[0];
    fill(r.cells[0], el("span", { class: "sysop-name" }, w.name),
      el("span", { class: "sysop-sub" }, [w.version && `v${w.version}`, device?.name,
        `heartbeat ${Number(w.heartbeatAgeS || 0).toFixed(1)} s ago`].filter(Boolean).join(" · ")));
    fill(r.cells[1], el("span", { class: `sysop-badge ${hc}` }, String(w.health || 0)),
      el("span", { class: "sysop-health", "aria-hidden": "true" }, bar));
    fill(r.cells[2], `${w.running || 0} / ${w.maxConcurrency || 0}`);
    fill(r.cells[3], serves(w));
    fill(r.cells[4], stateText);
    r.buttons.drain.disabled = !!w.draining;
    r.buttons.blacklist.disabled = !!w.blacklistedBySysop;
    r.buttons.readmit.disabled = !(w.draining || w.blacklisted);
  }

  function render(list) {
    const seen = new Set();
    let at = 0;
    for (const w of list || []) {
      seen.add(w.name);
      let r = rows.get(w.name);
      if (!r) { r = makeRow(w.name); rows.set(w.name, r); }
      update(r, w);
      if (t.tbody.children[at] !== r.tr) t.tbody.insertBefore(r.tr, t.tbody.children[at] || null);
      at++;
    }
    for (const [name, r] of rows) if (!seen.has(name)) { r.tr.remove(); rows.delete(name); }
    if (rows.size === 0) t.tbody.append(empty); else empty.remove();
  }

  async function refresh() {
    try {
      render((await ctx.bridge.unary(ADMIN + "ListWorkers", {})).workers);
    } catch (err) {
      ctx.toast(err.message, "error");
    }
  }

  return {
    id: "workers", title: "Workers", node: f.node, refresh,
    snapshot: (s) => render(s.workers),
    clear: () => render([]),
  };
}
