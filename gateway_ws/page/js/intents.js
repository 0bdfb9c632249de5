// Submitting an intent and following its events (intent.proto's IntentEvent), with the waiting shown the same way
// for every kind: place in the queue (the thermometer), then the worker and realm serving it, then retries.
import { el, fill } from "./dom.js";
import { RpcError } from "./rpc.js";

export class IntentFailed extends Error {
  /** A `failed` event: `code` is the numeric gRPC status (1: cancelled), `message` the realm's reason. */
  constructor(code, message) {
    super(message || `failed with code ${code}`);
    this.code = code || 0;
    this.cancelled = code === 1;
  }
}

/**
 * Submit `intent` (an IntentRequest in canonical JSON, e.g. {chat: {prompt}}) and follow it.
 * `on`: {accepted(id, position), queued(position, depth), started(started), delta(delta), retrying(r), event(ev)}.
 * Returns {call, intentId(): string, result: Promise<IntentResult>} where `result` rejects with IntentFailed or
 * RpcError. `call.cancelIntent()` cancels it in the realm.
 */
export function submit(bridge, intent, on = {}) {
  let intentId = "";
  let result = null;
  let failure = null;
  const call = bridge.call("mtor.v1.Intents/Submit", { intent }, (ev) => {
    if (ev.intentId) intentId = ev.intentId;
    on.event?.(ev);
    if (ev.accepted) on.accepted?.(ev.accepted.intentId, ev.accepted.queuePosition || 0);
    else if (ev.queued) on.queued?.(ev.queued.queuePosition || 0, ev.queued.queueDepth || 0);
    else if (ev.started) on.started?.(ev.started);
    else if (ev.delta) on.delta?.(ev.delta);
    else if (ev.retrying) on.retrying?.(ev.retrying);
    else if (ev.result) result = ev.result;
    else if (ev.failed) failure = new IntentFailed(ev.failed.code, ev.failed.message);
  });
  const done = call.done.then(() => {
    if (failure) throw failure;
    if (!result) throw new RpcError("UNKNOWN", "the intent's stream ended without an outcome");
    return result;
  });
  done.catch(() => {});
  return { call, intentId: () => intentId, result: done };
}

/** The waiting line of one intent: a meter for the place in the queue, then who serves it. */
export class WaitView {
  constructor() {
    this.meter = el("meter", { min: 0, max: 1, value: 0, "aria-label": "place in the queue" });
    this.text = el("span", { class: "wait-text" });
    this.node = el("div", { class: "wait", role: "status", "aria-live": "polite" }, this.meter, this.text);
    this.depth = 0;
    this.meter.hidden = true;
  }

  /** The `on` handlers for submit() that keep this view up to date (merged with `more`). */
  handlers(more = {}) {
    return {
      ...more,
      accepted: (id, position) => { this.queued(position, Math.max(position, this.depth)); more.accepted?.(id, position); },
      queued: (position, depth) => { this.queued(position, depth); more.queued?.(position, depth); },
      started: (s) => { this.started(s); more.started?.(s); },
      retrying: (r) => { this.say(`retrying (attempt ${r.attempt || "?"}): ${r.reason || ""}`); more.retrying?.(r); },
    };
  }

  queued(position, depth) {
    this.depth = Math.max(depth, position);
    if (position > 0) {
      this.meter.hidden = false;
      this.meter.max = Math.max(this.depth, 1);
      this.meter.value = Math.max(this.depth - position + 1, 0);
      this.say(`in the queue: place ${position}${this.depth ? ` of ${this.depth}` : ""}`);
    } else {
      this.say("accepted");
    }
    this.node.dataset.state = "queued";
  }

  started(s) {
    this.meter.hidden = true;
    const where = [s.worker && `worker ${s.worker}`, s.realm && `realm ${s.realm}`].filter(Boolean).join(" in ");
    const attempt = s.attempt > 1 ? ` (attempt ${s.attempt})` : "";
    this.say(`running on ${where || "a worker"}${attempt}`);
    this.node.dataset.state = "running";
    this.node.dataset.worker = s.worker || "";
  }

  finished(result) {
    this.meter.hidden = true;
    const u = result.usage || {};
    const parts = [result.model && `model ${result.model}`, result.worker && `worker ${result.worker}`,
      result.realm && `realm ${result.realm}`, u.processingS !== undefined && `${Number(u.processingS).toFixed(2)} s`,
      u.cost !== undefined && `cost ${Number(u.cost).toFixed(4)}`];
    this.say(parts.filter(Boolean).join(" · "));
    this.node.dataset.state = "done";
  }

  failed(err) {
    this.meter.hidden = true;
    this.say(err instanceof IntentFailed && err.cancelled ? "stopped" : `failed: ${err.message}`);
    this.node.dataset.state = err instanceof IntentFailed && err.cancelled ? "cancelled" : "failed";
  }

  say(text) {
    fill(this.text, text);
  }
}
