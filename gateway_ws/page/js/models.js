// The model pickers: the models the realm's workers serve for a kind (RealmInfo.Describe), and, for a sysop, the
// pool aliases of that kind (Admin.ListPools), asked for as the model "$name".
import { el, fill } from "./dom.js";

export async function fillModels(select, ctx, kind) {
  const options = [el("option", { value: "" }, "any model")];
  for (const name of new Set(ctx.models(kind))) options.push(el("option", { value: name }, name));
  if (ctx.me.sysop) {
    try {
      const { pools = [] } = await ctx.bridge.unary("mtor.v1.Admin/ListPools", {});
      for (const p of pools.filter((p) => p.kind === kind)) {
        options.push(el("option", { value: `$${p.name}` }, `pool ${p.name}`));
      }
    } catch { /* pools are the sysop's; without them the models remain */ }
  }
  const chosen = select.value;
  fill(select, ...options);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}
