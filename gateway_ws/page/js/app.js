// The page's shell: identity, the bridge, tabs, theme, notices; each tab is a module with mount(panel, ctx).
import { $, el, fill, toast } from "./dom.js";
import { Bridge, bridgeUrl, RpcError } from "./rpc.js";
import { speak } from "./speech.js";
import * as chat from "./chat.js";
import * as imagine from "./imagine.js";
import * as vision from "./vision.js";
import * as voice from "./voice.js";
import * as usage from "./usage.js";
import * as sysop from "./sysop.js";

const TOKEN_KEY = "mtor.token"; // sessionStorage: this tab only, never a cookie or a URL
const THEME_KEY = "mtor.theme";

/**
 * What every tab module gets:
 *   bridge        the Bridge (rpc.js)
 *   me            {user, sysop} of the signed-in caller (WhoAmI), or {user: "", sysop: false}
 *   realm         the realm's DescribeResponse, refreshed on sign-in
 *   models(kind)  model names the realm's workers serve for "KIND_CHAT" etc. (from Describe)
 *   speak(text)   speak it through the realm and play it; resolves when playback ends
 *   toast(text, level)
 *   on(name, fn)  "identity" (after sign-in or out), "tab" (detail: the tab's name)
 *   api           what modules offer one another: chat.send(prompt), imagine.generate(prompt), vision.ask(prompt)
 *   show(tab)     switch to a tab by name
 */
const events = new EventTarget();
const ctx = {
  bridge: new Bridge(bridgeUrl()),
  me: { user: "", sysop: false },
  realm: null,
  models: (kind) => (ctx.realm?.kinds || []).filter((k) => k.kind === kind).flatMap((k) => k.models || []),
  speak: (text) => speak(ctx.bridge, text),
  toast,
  on: (name, fn) => events.addEventListener(name, (e) => fn(e.detail)),
  api: {},
  show: (tab) => showTab(tab),
};
window.mtor = ctx; // for the console, and for tests that call the realm as this page does

const tabs = ["chat", "imagine", "vision", "voice", "usage", "sysop"];

function showTab(name) {
  for (const t of tabs) {
    const selected = t === name;
    $(`#tab-${t}`).setAttribute("aria-selected", String(selected));
    $(`#tab-${t}`).tabIndex = selected ? 0 : -1;
    $(`#panel-${t}`).hidden = !selected;
  }
  events.dispatchEvent(new CustomEvent("tab", { detail: name }));
}

function setupTabs() {
  for (const t of tabs) $(`#tab-${t}`).addEventListener("click", () => showTab(t));
  $(".tabs").addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const visible = tabs.filter((t) => !$(`#tab-${t}`).hidden);
    const at = visible.findIndex((t) => $(`#tab-${t}`) === document.activeElement);
    const next = visible[(at + (e.key === "ArrowRight" ? 1 : visible.length - 1)) % visible.length];
    showTab(next);
    $(`#tab-${next}`).focus();
  });
}

function setupTheme() {
  const apply = (theme) => { document.documentElement.dataset.theme = theme; };
  apply(localStorage.getItem(THEME_KEY) || "auto");
  $("#theme").addEventListener("click", () => {
    const dark = document.documentElement.dataset.theme === "dark" ||
      (document.documentElement.dataset.theme === "auto" && matchMedia("(prefers-color-scheme: dark)").matches);
    const theme = dark ? "light" : "dark";
    localStorage.setItem(THEME_KEY, theme);
    apply(theme);
  });
}

function setupConnection() {
  ctx.bridge.addEventListener("state", (e) => {
    const conn = $("#conn");
    conn.dataset.state = e.detail;
    fill(conn, { open: "connected", connecting: "connecting…", closed: "offline" }[e.detail]);
  });
}

let notices = null;

function followNotices() {
  notices?.cancel();
  const call = ctx.bridge.call("mtor.v1.Intents/Notices", {}, (n) => {
    const box = $("#notices");
    const item = el("div", { class: `notice ${n.level === "NOTICE_LEVEL_WARNING" ? "warning" : "info"}` },
      el("strong", {}, n.realm ? `${n.realm}: ` : "Notice: "), n.text || "",
      el("button", { type: "button", class: "close", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"));
    box.append(item);
    while (box.children.length > 5) box.firstElementChild.remove();
  });
  notices = call;
  call.done.catch(() => {});
}

async function signIn(token) {
  await ctx.bridge.connect(token);
  const me = await ctx.bridge.unary("mtor.v1.Account/WhoAmI", {});
  ctx.me = { user: me.user || "", sysop: !!me.sysop };
  try {
    ctx.realm = await ctx.bridge.unary("mtor.v1.RealmInfo/Describe", {});
  } catch {
    ctx.realm = null;
  }
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  fill($("#realm-name"), ctx.realm?.name ? `· ${ctx.realm.name}` : "");
  fill($("#who"), ctx.me.user ? `${ctx.me.user}${ctx.me.sysop ? " (sysop)" : ""}` : "");
  $("#sign-in").hidden = !!token;
  $("#sign-out").hidden = !token;
  $("#tab-sysop").hidden = !ctx.me.sysop;
  if (!ctx.me.sysop && !$("#panel-sysop").hidden) showTab("chat");
  document.body.dataset.signedIn = ctx.me.user ? "true" : "false";
  followNotices();
  events.dispatchEvent(new CustomEvent("identity", { detail: ctx.me }));
}

function setupSignIn() {
  const dialog = $("#sign-in-dialog");
  $("#sign-in").addEventListener("click", () => { fill($("#sign-in-error")); dialog.showModal(); });
  $("#sign-in-cancel").addEventListener("click", () => dialog.close());
  $("#sign-in-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = $("#token-input").value.trim();
    try {
      await signIn(token);
      $("#token-input").value = "";
      dialog.close();
    } catch (err) {
      fill($("#sign-in-error"), err instanceof RpcError && err.code === "UNAUTHENTICATED"
        ? "The realm does not know this token (or it was revoked)." : String(err.message || err));
      sessionStorage.removeItem(TOKEN_KEY);
    }
  });
  $("#sign-out").addEventListener("click", async () => {
    sessionStorage.removeItem(TOKEN_KEY);
    await signIn(null).catch(anonymousRefused);
  });
}

function anonymousRefused(err) {
  ctx.me = { user: "", sysop: false };
  fill($("#who"), "not signed in");
  $("#sign-in").hidden = false;
  $("#sign-out").hidden = true;
  $("#tab-sysop").hidden = true;
  document.body.dataset.signedIn = "false";
  if (err instanceof RpcError && err.code === "UNAUTHENTICATED") {
    fill($("#sign-in-error"), "This realm needs a token.");
    $("#sign-in-dialog").showModal();
  } else {
    toast(`Cannot reach the realm: ${err.message || err}`, "error");
  }
  events.dispatchEvent(new CustomEvent("identity", { detail: ctx.me }));
}

async function main() {
  setupTheme();
  setupTabs();
  setupConnection();
  setupSignIn();
  for (const [name, module] of Object.entries({ chat, imagine, vision, voice, usage, sysop })) {
    try {
      module.mount($(`#panel-${name}`), ctx);
    } catch (err) {
      console.error(`the ${name} tab failed to start`, err);
    }
  }
  await signIn(sessionStorage.getItem(TOKEN_KEY)).catch(async (err) => {
    if (sessionStorage.getItem(TOKEN_KEY) && err instanceof RpcError && err.code === "UNAUTHENTICATED") {
      sessionStorage.removeItem(TOKEN_KEY);
      await signIn(null).catch(anonymousRefused);
    } else {
      anonymousRefused(err);
    }
  });
  document.body.dataset.ready = "true";
}

main();
