// The engagements panel: each order c2 issued with its effector, the interface that carried
// it, its state timeline (decision -> order -> ack -> outcome) and its outcome, from
// GET /api/engagements. A module of its own beside cop.js (which draws the pairing line
// effector -> target on the map): it reads the session token cop.js keeps and polls while
// the page is ready, so cop.js needs no hook.

const POLL_MS = 2000;
const STYLE = `
#engagements { list-style: none; padding: 0; margin: 0; }
.engagement { border-left: 4px solid #888; padding: 2px 6px; margin: 4px 0; font-size: 12px; }
.engagement.state-in_progress, .engagement.state-acknowledged { border-color: #f0a020; }
.engagement.state-effect_observed { border-color: #30c060; }
.engagement.state-failed, .engagement.state-rejected, .engagement.state-aborted { border-color: #ff5050; }
.engagement-head { font-weight: bold; }
.engagement-steps, .engagement-order { color: #aab; }
`;

function addStyle() {
  const style = document.createElement("style");
  style.textContent = STYLE;
  document.head.append(style);
}

function token() {
  return sessionStorage.getItem("hz-token");
}

async function load() {
  const bearer = token();
  if (!bearer || document.body.dataset.ready !== "true") return null;
  const response = await fetch("/api/engagements", { headers: { authorization: `Bearer ${bearer}` } });
  return response.ok ? response.json() : null;
}

function clock(iso) {
  return new Date(iso).toISOString().slice(11, 19);
}

function render(rows) {
  const list = document.getElementById("engagements");
  const count = document.getElementById("engagement-count");
  if (!list) return;
  count.textContent = rows.length ? `(${rows.length})` : "";
  list.replaceChildren(...rows.map((row) => {
    const item = document.createElement("li");
    item.className = `engagement state-${row.state}`;
    item.dataset.orderId = row.order_id;
    item.dataset.state = row.state;
    item.dataset.outcome = row.outcome;
    const head = document.createElement("div");
    head.className = "engagement-head";
    head.textContent = `${row.effector_id} (${row.interface}) → ${row.track_id}: ${row.state}` +
      (row.outcome !== "open" && row.outcome !== row.state ? ` · ${row.outcome}` : "");
    const steps = document.createElement("div");
    steps.className = "engagement-steps";
    steps.textContent = row.timeline.map((entry) => `${entry.step} ${clock(entry.time)}`).join(" → ");
    const order = document.createElement("div");
    order.className = "engagement-order";
    order.textContent = `order ${row.order_id}: ${row.action}`;
    item.append(head, order, steps);
    return item;
  }));
}

async function poll() {
  try {
    const rows = await load();
    if (rows) render(rows);
  } catch { /* logged out or the server is gone: try again later */ }
  setTimeout(poll, POLL_MS);
}

addStyle();
poll();
