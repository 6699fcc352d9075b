// @ts-check
// The live stream (WS /api/stream, acknowledged flow), kept up: a dropped socket (server
// restart, network) shows a banner and is reopened with growing waits; once it is open again
// the page resumes by fetching the picture as it is now (what it missed) and then applies the
// stream's updates. A server that no longer knows the session (it restarted) asks for a
// login, in place: the map, the filters and the hooked track stay; nothing is reloaded.

// Reconnecting a dropped stream: waits from the first to the longest, doubling.
const RECONNECT_FIRST_MS = 500;
const RECONNECT_LONGEST_MS = 5000;

/**
 * What the stream needs of the page.
 * @typedef {{
 *   state: {token: string | null, viewAs: string, socket: WebSocket | null, connection: string,
 *     clock: string | null, clockDirty: boolean, reconnects: number, reconnectAttempt?: number,
 *     [key: string]: any},
 *   api: (path: string) => Promise<any>,
 *   loadPicture: () => Promise<void>,
 *   onUpdates: (updates: import("./store.js").Update[]) => void,
 *   sessionLost: () => void,
 * }} StreamPage
 */

/** @param {StreamPage} page */
export function createStream(page) {
  const { state } = page;
  let reconnectTimer = 0;

  /** The wait before the next try: doubling from the first to the longest. */
  function nextWait() {
    const attempt = state.reconnectAttempt || 0;
    state.reconnectAttempt = attempt + 1;
    return Math.min(RECONNECT_LONGEST_MS, RECONNECT_FIRST_MS * 2 ** Math.min(attempt, 4));
  }

  /** (Re)open the stream for the session and nation view; the previous one is closed. */
  function connect() {
    window.clearTimeout(reconnectTimer);
    close();
    if (!state.token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = `acks=true&token=${encodeURIComponent(state.token)}` + (state.viewAs ? `&view_as=${state.viewAs}` : "");
    const socket = new WebSocket(`${scheme}://${location.host}/api/stream?${query}`);
    const resuming = state.connection === "lost";
    socket.onopen = async () => {
      if (socket !== state.socket) return;
      if (resuming) {
        try {
          await page.loadPicture();
          state.reconnects += 1;
        } catch (error) {
          if (/** @type {any} */ (error).status === 401) { page.sessionLost(); return; }
        }
      }
      setConnection("open");
    };
    socket.onclose = (event) => {
      if (socket !== state.socket) return;  // replaced on purpose (nation selector, logout)
      state.socket = null;
      if (event.code === 4401) { page.sessionLost(); return; }
      setConnection("lost");
      reconnectTimer = window.setTimeout(probeAndReconnect, nextWait());
    };
    socket.onmessage = (event) => {
      if (socket !== state.socket) return;  // a stream replaced by the nation selector
      const message = JSON.parse(event.data);
      if (message.clock && message.clock !== state.clock) { state.clock = message.clock; state.clockDirty = true; }
      if (message.type !== "batch") return;
      page.onUpdates(message.updates);
      // Applied: the server may send the next batch (it holds newer states, coalesced, meanwhile).
      socket.send('{"type":"ack"}');
    };
    state.socket = socket;
  }

  /** Close the stream on purpose (its close is not a loss). */
  function close() {
    if (state.socket) { const old = state.socket; state.socket = null; old.close(); }
  }

  // Whether the server answers, and knows this session, before reopening the stream.
  async function probeAndReconnect() {
    try {
      await page.api("/api/me");
    } catch (error) {
      if (/** @type {any} */ (error).status === 401) { page.sessionLost(); return; }
      setConnection("lost");
      reconnectTimer = window.setTimeout(probeAndReconnect, nextWait());
      return;
    }
    connect();
  }

  /** The connection's state, on the banner and on `body[data-connection]`. */
  function setConnection(/** @type {string} */ connection) {
    state.connection = connection;
    if (connection === "open") state.reconnectAttempt = 0;
    const banner = /** @type {HTMLElement} */ (document.getElementById("connection-banner"));
    banner.dataset.state = connection;
    if (connection === "lost") {
      banner.textContent = `connection to the server lost: the picture is frozen at ${(state.clock || "").replace("T", " ").slice(0, 19)}Z; reconnecting (attempt ${(state.reconnectAttempt || 0) + 1})…`;
    } else if (connection === "login") {
      banner.textContent = "the server no longer knows this session (it restarted?): log in again to resume; the picture shown is frozen";
    }
    banner.classList.toggle("hidden", connection === "open" || connection === "connecting");
    document.body.dataset.connection = connection;
  }

  return { connect, close, setConnection };
}
