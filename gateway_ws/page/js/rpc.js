// The gateway's WebSocket bridge (gateway_ws/PROTOCOL.md): calls to the realm's mtor.v1 services, many at once on
// one socket, each ending in exactly one `end` (or `error`) frame. The page holds no authority: the realm judges every
// call by the token sent in the auth frame.

export class RpcError extends Error {
  /** A call's end with a status other than OK, or a refused frame. `code` is the gRPC status name. */
  constructor(code, message, retryAfter) {
    super(message ? `${code}: ${message}` : code);
    this.code = code;
    this.detail = message || "";
    this.retryAfter = retryAfter;
  }
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

export class Bridge extends EventTarget {
  /** `url`: ws(s)://host/ws. Dispatches "state" events (detail: "connecting" | "open" | "closed"). */
  constructor(url) {
    super();
    this.url = url;
    this.token = null;
    this.state = "closed";
    this._ws = null;
    this._calls = new Map();
    this._next = 1;
    this._opened = null;
    this._retryMs = RECONNECT_MIN_MS;
    this._wanted = false;
  }

  /** Open the socket (again) with this token (null: anonymous); resolves once it is open. */
  connect(token) {
    this.token = token || null;
    this._wanted = true;
    if (this._ws) {
      this._ws.onclose = null;
      this._ws.close(1000, "new identity");
      this._failAll("UNAVAILABLE", "the page changed identity");
    }
    return this._open();
  }

  _open() {
    this._setState("connecting");
    const ws = new WebSocket(this.url, ["mtor.v1"]);
    this._ws = ws;
    this._opened = new Promise((resolve, reject) => {
      ws.onopen = () => {
        if (this.token) ws.send(JSON.stringify({ auth: this.token }));
        this._retryMs = RECONNECT_MIN_MS;
        this._setState("open");
        resolve();
      };
      ws.onerror = () => reject(new RpcError("UNAVAILABLE", "cannot reach the gateway"));
    });
    this._opened.catch(() => {});
    ws.onmessage = (e) => this._onFrame(e.data);
    ws.onclose = () => {
      this._failAll("UNAVAILABLE", "the connection to the gateway was lost");
      this._setState("closed");
      if (this._wanted) {
        setTimeout(() => { if (this._wanted && this._ws === ws) this._open(); }, this._retryMs);
        this._retryMs = Math.min(this._retryMs * 2, RECONNECT_MAX_MS);
      }
    };
    return this._opened;
  }

  _setState(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  _failAll(code, message) {
    const calls = [...this._calls.values()];
    this._calls.clear();
    for (const c of calls) c.finish(new RpcError(code, message));
  }

  _onFrame(text) {
    let f;
    try { f = JSON.parse(text); } catch { return; }
    const c = this._calls.get(f.id);
    if (f.error && !c) { console.warn("bridge refused a frame:", f.error); return; }
    if (!c) return;
    if (f.message !== undefined) c.onMessage(f.message);
    if (f.end) {
      this._calls.delete(f.id);
      c.finish(f.end.code === "OK" ? null : new RpcError(f.end.code, f.end.message, f.end.retryAfter));
    } else if (f.error) {
      this._calls.delete(f.id);
      c.finish(new RpcError(f.error.code, f.error.message));
    }
  }

  /**
   * Start a call. `onMessage` gets each reply (canonical protobuf JSON). Returns {id, done, cancel, cancelIntent}:
   * `done` resolves when the call ends OK and rejects with an RpcError otherwise; `cancel()` stops following;
   * `cancelIntent()` (Submit, Watch) cancels the intent in the realm, and the call goes on to its terminal event.
   */
  call(method, request = {}, onMessage = () => {}) {
    const id = this._next++;
    let finish;
    const done = new Promise((resolve, reject) => {
      finish = (err) => (err ? reject(err) : resolve());
    });
    done.catch(() => {});
    if (this.state === "closed") {
      finish(new RpcError("UNAVAILABLE", "not connected to the gateway (reconnecting)"));
      return { id, done, cancel: () => {}, cancelIntent: () => {} };
    }
    this._calls.set(id, { onMessage, finish });
    const send = (frame) => this._ws && this._ws.readyState === WebSocket.OPEN && this._ws.send(JSON.stringify(frame));
    this._opened.then(
      () => { if (this._calls.has(id)) send({ id, method, request }); },
      (err) => { if (this._calls.delete(id)) finish(err); },
    );
    return {
      id,
      done,
      cancel: () => send({ id, cancel: true }),
      cancelIntent: () => send({ id, cancel: true, intent: true }),
    };
  }

  /** A unary call: resolves with its one reply. */
  async unary(method, request = {}) {
    let reply = null;
    await this.call(method, request, (m) => { reply = m; }).done;
    return reply;
  }
}

export function bridgeUrl() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}
