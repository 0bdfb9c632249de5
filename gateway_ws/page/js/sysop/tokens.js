// Tokens: the list (prefixes only), create (the secret shown once, to copy), revoke.
import { el, fill } from "../dom.js";
import { action, button, emptyRow, frame, labelled, row, table, when } from "./ui.js";

const ADMIN = "mtor.v1.Admin/";
const PURPOSES = { TOKEN_PURPOSE_USER: "user", TOKEN_PURPOSE_JOIN: "join", TOKEN_PURPOSE_PEER: "peer" };

export function tokens(ctx) {
  const f = frame("sysop-tokens", "Tokens", () => refresh());
  const t = table("Tokens", ["Prefix", "For", "User", "Label", "Created", "Expires", "State", ""]);
  const dead = el("input", { type: "checkbox", id: "sysop-tokens-dead", onchange: () => refresh() });
  const purpose = el("select", { id: "sysop-token-purpose" },
    el("option", { value: "TOKEN_PURPOSE_USER" }, "a user"), el("option", { value: "TOKEN_PURPOSE_JOIN" }, "workers to join"));
  const user = el("input", { id: "sysop-token-user", list: "sysop-user-names", autocomplete: "off" });
  const label = el("input", { id: "sysop-token-label", maxlength: 200, autocomplete: "off" });
  const ttl = el("input", { id: "sysop-token-ttl", type: "number", min: 0, step: "any", placeholder: "never expires" });
  purpose.addEventListener("change", () => { user.disabled = purpose.value !== "TOKEN_PURPOSE_USER"; });
  const shown = el("div", { class: "sysop-new-token", hidden: true, role: "region", "aria-label": "The new token" });

  const form = el("form", { class: "row sysop-form", "aria-label": "Create a token",
    onsubmit: action(ctx, () => {
      const request = { purpose: purpose.value, label: label.value.trim() };
      if (purpose.value === "TOKEN_PURPOSE_USER") request.user = user.value.trim();
      if (Number(ttl.value) > 0) request.ttlS = Number(ttl.value);
      return ctx.bridge.unary(ADMIN + "CreateToken", request);
    }, { then: (r) => { show(r); label.value = ""; return refresh(); } }) },
  labelled("For", purpose), labelled("User", user), labelled("Label", label), labelled("Lifetime (s)", ttl),
  el("button", { type: "submit", id: "sysop-create-token" }, "Create token"));
  f.body.append(form, shown, el("p", {}, dead, " ", el("label", { for: dead.id }, "Show revoked and expired")), t.node);

  // The secret exists in this page only until Done: the realm keeps its hash.
  function show(r) {
    const field = el("input", { id: "sysop-new-token", readonly: true, value: r.token, spellcheck: "false",
      autocomplete: "off", "aria-describedby": "sysop-new-token-warning" });
    const copy = button("Copy", async () => {
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        ctx.toast("token copied");
      } catch {
        ctx.toast("select the field and copy it by hand", "error");
      }
    }, { id: "sysop-copy-token" });
    fill(shown,
      el("p", { id: "sysop-new-token-warning", class: "sysop-warning", role: "alert" },
        `Token for ${r.info?.user || "workers to join"}: copy it now. It is shown only this once; the realm keeps ` +
        "only its hash."),
      el("div", { class: "row" }, labelled("New token", field), copy,
        button("Done", () => { fill(shown); shown.hidden = true; }, { id: "sysop-token-done" })));
    shown.hidden = false;
    field.focus();
    field.select();
  }

  async function refresh() {
    let list;
    try {
      list = (await ctx.bridge.unary(ADMIN + "ListTokens", { includeDead: dead.checked })).tokens || [];
    } catch (err) {
      ctx.toast(err.message, "error");
      return;
    }
    fill(t.tbody, list.length ? list.map(tokenRow) : emptyRow(8, "No tokens."));
  }

  function tokenRow(tk) {
    const expired = tk.expiresAt && new Date(tk.expiresAt) < new Date();
    const state = tk.revokedAt ? `revoked ${when(tk.revokedAt)}` : expired ? "expired" : "live";
    const revoke = !tk.revokedAt && !expired && tk.purpose !== "TOKEN_PURPOSE_PEER"
      ? button("Revoke", action(ctx, () => ctx.bridge.unary(ADMIN + "RevokeToken", { prefix: tk.prefix }), {
        ask: `Revoke token ${tk.prefix}${tk.user ? ` of ${tk.user}` : ""}? Whoever uses it is refused from now on.` +
          (tk.user && tk.user === ctx.me.user ? " It is yours: if this page signed in with it, it is signed out." : ""),
        then: () => { ctx.toast(`token ${tk.prefix} revoked`); return refresh(); },
      }), { class: "danger revoke", "aria-label": `Revoke token ${tk.prefix}` })
      : "";
    return row([el("code", {}, tk.prefix), PURPOSES[tk.purpose] || "", tk.user || "", tk.label || "",
      when(tk.createdAt), tk.expiresAt ? when(tk.expiresAt) : "never", state, revoke],
    { dataset: { prefix: tk.prefix, user: tk.user || "" } });
  }

  return { id: "tokens", title: "Tokens", node: f.node, refresh,
    clear: () => { fill(t.tbody); fill(shown); shown.hidden = true; } };
}
