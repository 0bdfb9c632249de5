// The sysop's tab: the realm's Admin and Peers services through the bridge, in sub-sections (workers live from
// WatchRealm, queue, users, tokens, quotas, stats, audit, peers, broadcast). The page holds no authority: every
// action is a call the realm judges by the token; calls start only while WhoAmI says sysop.
import { el, fill, kindName } from "./dom.js";
import { coalesce } from "./sysop/ui.js";
import { workers } from "./sysop/workers.js";
import { queue } from "./sysop/queue.js";
import { users } from "./sysop/users.js";
import { tokens } from "./sysop/tokens.js";
import { quotas } from "./sysop/quotas.js";
import { stats } from "./sysop/stats.js";
import { audit } from "./sysop/audit.js";
import { peers } from "./sysop/peers.js";
import { broadcast } from "./sysop/broadcast.js";

const WATCH_INTERVAL_S = 0.5;
const RETRY_MS = [1000, 2000, 5000];

export function mount(panel, ctx) {
  const names = el("datalist", { id: "sysop-user-names" });
  const shared = {
    setUsers: (list) => fill(names, list.map((n) => el("option", { value: n }))),
  };
  const sections = [workers(ctx), queue(ctx), users(ctx, shared), tokens(ctx), quotas(ctx), stats(ctx), audit(ctx),
    peers(ctx), broadcast(ctx)];
  for (const s of sections) s.load = coalesce(s.refresh);

  const live = el("span", { id: "sysop-live", class: "sysop-live", role: "status", "aria-live": "polite",
    dataset: { state: "off" } }, "not watching");
  const load = el("p", { id: "sysop-load", class: "sysop-sub" });
  const nav = el("nav", { class: "sysop-nav", "aria-label": "Sysop sections" },
    sections.map((s) => el("button", { type: "button", class: "secondary", id: `sysop-nav-${s.id}`,
      "aria-controls": s.node.id, onclick: () => select(s.id) }, s.title)));
  panel.append(el("div", { class: "sysop" },
    el("div", { class: "sysop-top" }, el("h2", {}, "Sysop"), live), load, nav,
    sections.map((s) => s.node), names));

  let active = "workers";
  function select(id) {
    active = id;
    for (const s of sections) {
      s.node.hidden = s.id !== id;
      nav.querySelector(`#sysop-nav-${s.id}`).setAttribute("aria-current", String(s.id === id));
    }
    if (watching) sections.find((s) => s.id === id).load();
  }

  function onSnapshot(snap) {
    sections[0].snapshot(snap);
    const kinds = (snap.kinds || []).map((k) => `${kindName(k.kind)} ${k.queued || 0} queued, ${k.running || 0} running`);
    fill(load, `${(snap.workers || []).length} workers · ${snap.usersConnected || 0} connected now · ` +
      (kinds.length ? kinds.join(" · ") : "no work queued or running"));
    for (const s of sections) if (s.live && s.id === active) s.load();
  }

  // One WatchRealm call per identity; `generation` lets a call of an earlier identity end quietly.
  let generation = 0;
  let watch = null;
  let watching = false;
  function setLive(state, text) {
    live.dataset.state = state;
    fill(live, text);
  }

  function startWatch(gen, attempt = 0) {
    const call = ctx.bridge.call("mtor.v1.Admin/WatchRealm", { minIntervalS: WATCH_INTERVAL_S }, (ev) => {
      if (gen !== generation || !ev.snapshot) return;
      attempt = 0;
      setLive("on", "live");
      onSnapshot(ev.snapshot);
    });
    watch = call;
    const again = (why) => {
      if (gen !== generation) return;
      setLive("lost", `live updates lost (${why}); retrying…`);
      setTimeout(() => { if (gen === generation) startWatch(gen, attempt + 1); },
        RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
    };
    call.done.then(() => again("the realm ended the stream"), (err) => {
      if (gen !== generation) return;
      if (err.code === "PERMISSION_DENIED" || err.code === "UNAUTHENTICATED") {
        setLive("off", "not a sysop");
        ctx.toast(err.message, "error");
      } else {
        again(err.message);
      }
    });
  }

  ctx.on("identity", (me) => {
    generation++;
    watch?.cancel();
    watch = null;
    watching = !!me.sysop;
    if (!watching) {
      setLive("off", "not watching");
      fill(load);
      for (const s of sections) s.clear();
      return;
    }
    setLive("connecting", "connecting…");
    startWatch(generation);
    sections.find((s) => s.id === "users").load(); // fills the user-name suggestions of tokens and quotas
    select(active);
  });

  ctx.on("tab", (name) => { if (name === "sysop" && watching) sections.find((s) => s.id === active).load(); });
  select(active);
}
