// The attendee's WebSocket to the server (docs/protocol.md): reconnects by itself after drops,
// and stops for good after a fatal error (bad ticket, session not live, replaced by another tab, removed
// from the session by the organiser).

export const PROTOCOL_VERSION = 1;

// Close codes after which reconnecting would only get the same answer.
const FINAL_CLOSE_CODES = new Set([4001, 4003, 4004, 4010, 4012, 4400]);

export class Signalling extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.closed = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.lastError = null;
    this.seq = 0;
    this.retryChosen = false;
  }

  /** Open the socket (again). Events: "open", "message" (detail: msg), "down" (detail: {code, error}). */
  connect() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.lastError = null;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.send({ type: "hello", protocol: PROTOCOL_VERSION, client: "speedmeet-web/1" });
      this.dispatchEvent(new CustomEvent("open"));
    });
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        console.warn("speedmeet: ignoring a message that is not JSON");
        return;
      }
      if (msg.type === "error" && msg.fatal) this.lastError = msg;
      this.dispatchEvent(new CustomEvent("message", { detail: msg }));
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      const error = this.lastError;
      const final = this.closed || FINAL_CLOSE_CODES.has(event.code);
      this.retryChosen = false;
      this.dispatchEvent(new CustomEvent("down", { detail: { code: event.code, error, final } }));
      // A listener may have chosen its own delay (e.g. "not started yet: try again in a second").
      if (!final && !this.retryChosen) this.scheduleRetry();
    });
  }

  /** Reconnect after `delayMs`, or after a growing delay (0.5 s doubling up to 10 s) when not given. */
  scheduleRetry(delayMs) {
    if (this.closed) return;
    this.retryChosen = true;
    this.attempt += 1;
    const delay = delayMs ?? Math.min(10000, 500 * 2 ** Math.min(this.attempt, 5));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a message; returns false when the socket is not open (the caller shows why). */
  send(msg) {
    if (!this.isOpen) return false;
    this.seq += 1;
    this.ws.send(JSON.stringify({ id: `c-${this.seq}`, ...msg }));
    return true;
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "bye");
    }
  }
}
