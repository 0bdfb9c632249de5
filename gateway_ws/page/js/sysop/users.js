// Users: ban (with a reason), unban, terminate their intents, role; create a user.
import { el, fill } from "../dom.js";
import { action, button, emptyRow, frame, labelled, row, table, when } from "./ui.js";

const ADMIN = "mtor.v1.Admin/";

export function users(ctx, shared) {
  const f = frame("sysop-users", "Users", () => refresh());
  const t = table("Users", ["User", "Role", "Status", "Tokens", "Created", "Actions"]);
  const name = el("input", { id: "sysop-new-user", required: true, maxlength: 64, autocomplete: "off",
    pattern: "[A-Za-z0-9._@\\-]+", placeholder: "letters, digits . _ @ -" });
  const role = el("select", { id: "sysop-new-user-role" },
    el("option", { value: "ROLE_USER" }, "user"), el("option", { value: "ROLE_SYSOP" }, "sysop"));
  const create = el("form", { class: "row sysop-form", "aria-label": "Create a user",
    onsubmit: action(ctx, () => ctx.bridge.unary(ADMIN + "CreateUser", { name: name.value.trim(), role: role.value }), {
      then: (u) => { ctx.toast(`user ${u.name} created`); name.value = ""; return refresh(); },
    }) },
  labelled("New user", name), labelled("Role", role), el("button", { type: "submit", id: "sysop-create-user" }, "Create"));
  f.body.append(create, t.node);

  async function refresh() {
    let list;
    try {
      list = (await ctx.bridge.unary(ADMIN + "ListUsers", {})).users || [];
    } catch (err) {
      ctx.toast(err.message, "error");
      return;
    }
    shared.setUsers(list.map((u) => u.name));
    fill(t.tbody, list.length ? list.map(userRow) : emptyRow(6, "No users."));
  }

  function userRow(u) {
    const n = u.name;
    const roleSelect = el("select", { class: "role", "aria-label": `Role of ${n}` },
      el("option", { value: "ROLE_USER", selected: u.role !== "ROLE_SYSOP" }, "user"),
      el("option", { value: "ROLE_SYSOP", selected: u.role === "ROLE_SYSOP" }, "sysop"));
    // A refused change puts the select back (the refresh shows the realm's role either way).
    roleSelect.addEventListener("change", action(ctx,
      () => ctx.bridge.unary(ADMIN + "SetRole", { name: n, role: roleSelect.value }).finally(() => refresh()), {
        then: (r) => ctx.toast(`${r.name} is now a ${r.role === "ROLE_SYSOP" ? "sysop" : "user"}`),
      }));
    const status = u.banned ? el("span", { class: "sysop-banned" }, "banned", u.banReason ? `: ${u.banReason}` : "")
      : "active";
    const tr = row([el("span", { class: "sysop-name" }, n), roleSelect, status, String(u.liveTokens || 0),
      when(u.createdAt), el("span", { class: "sysop-actions" },
        u.banned
          ? button("Unban", action(ctx, () => ctx.bridge.unary(ADMIN + "UnbanUser", { name: n }), {
            then: () => { ctx.toast(`${n} unbanned`); return refresh(); },
          }), { class: "secondary unban", "aria-label": `Unban ${n}` })
          : button("Ban…", () => banForm(tr, n), { class: "secondary ban", "aria-label": `Ban ${n}` }),
        button("Terminate", action(ctx, () => ctx.bridge.unary(ADMIN + "TerminateUser", { name: n }), {
          ask: `Cancel every queued and running intent of ${n}?`,
          then: (r) => ctx.toast(`${r.cancelled || 0} intents of ${n} cancelled`),
        }), { class: "danger terminate", "aria-label": `Terminate the intents of ${n}` }))],
    { dataset: { user: n, banned: String(!!u.banned) } });
    return tr;
  }

  // The reason is asked for in a row under the user's, not a prompt(): labelled, and the page stays usable.
  function banForm(tr, n) {
    if (tr.nextElementSibling?.classList.contains("sysop-ban-row")) return;
    const id = `sysop-ban-reason-${Math.random().toString(36).slice(2)}`;
    const reason = el("input", { id, class: "ban-reason", maxlength: 500, autocomplete: "off" });
    const formRow = el("tr", { class: "sysop-ban-row", dataset: { banUser: n } }, el("td", { colspan: 6 },
      el("form", { class: "row", "aria-label": `Ban ${n}`,
        onsubmit: action(ctx, () => ctx.bridge.unary(ADMIN + "BanUser", { name: n, reason: reason.value.trim() }), {
          then: () => { ctx.toast(`${n} banned`); return refresh(); },
        }) },
      labelled(`Why ban ${n}?`, reason),
      el("button", { type: "submit", class: "danger confirm-ban" }, "Ban"),
      button("Cancel", () => formRow.remove()))));
    tr.after(formRow);
    reason.focus();
  }

  return { id: "users", title: "Users", node: f.node, refresh, clear: () => fill(t.tbody) };
}
