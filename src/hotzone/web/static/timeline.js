// @ts-check
// The timeline of events under the map while replaying: one lane per kind of event
// (alerts, proposals, decisions, orders, engagement outcomes, GNSS jamming, cyber events,
// from GET /api/events, filtered for the viewer like every route), a marker at each, the
// replayed time as a cursor. Clicking a marker replays the picture at that event's time.

/** The kinds of events, in lane order (as hotzone.runtime.timeline.EVENT_KINDS). */
export const EVENT_KINDS = ["alert", "proposal", "decision", "order", "engagement", "jamming", "cyber"];
const KIND_NAMES = /** @type {Record<string, string>} */ ({
  alert: "alerts", proposal: "proposals", decision: "decisions", order: "orders",
  engagement: "engagements", jamming: "jamming", cyber: "cyber",
});
const REFRESH_MS = 10000;

/**
 * @typedef {{time: number, kind: string, id: string, label: string, track_id: string | null}} TimelineEvent
 * @typedef {{
 *   api: (path: string) => Promise<any>,
 *   range: () => ({first: number, last: number} | null),
 *   jump: (posixTime: number) => void,
 * }} TimelinePage
 */

/** @param {TimelinePage} page */
export function createTimeline(page) {
  const root = /** @type {HTMLElement} */ (document.getElementById("timeline"));
  /** @type {TimelineEvent[]} */
  let events = [];
  /** @type {number | null} */
  let at = null;
  let fetchedAt = -Infinity;
  let fetching = false;
  /** @type {HTMLElement | null} */
  let cursor = null;
  /** @type {{first: number, last: number} | null} */
  let drawnRange = null;

  async function fetchEvents() {
    if (fetching) return;
    fetching = true;
    try {
      events = await page.api("/api/events");
      fetchedAt = Date.now();
    } catch {
      // Shown again at the next refresh; the replay itself does not depend on the events.
    } finally {
      fetching = false;
    }
    draw();
  }

  // The lanes' strips start after the kind's name (74 px, cop.css).
  const cursorLeft = (/** @type {number} */ time, /** @type {{first: number, last: number}} */ range) => {
    const fraction = Math.min(1, Math.max(0, (time - range.first) / Math.max(range.last - range.first, 1)));
    return `calc(74px + (100% - 74px) * ${fraction.toFixed(5)})`;
  };

  function draw() {
    const range = page.range();
    if (at === null || !range) { root.classList.add("hidden"); return; }
    root.classList.remove("hidden");
    const span = Math.max(range.last - range.first, 1);
    const left = (/** @type {number} */ time) => `${Math.min(100, Math.max(0, (time - range.first) / span * 100))}%`;
    const lanes = EVENT_KINDS.map((kind) => {
      const lane = document.createElement("div");
      lane.className = "timeline-lane";
      lane.dataset.kind = kind;
      const name = document.createElement("span");
      name.className = "timeline-kind";
      name.textContent = KIND_NAMES[kind];
      const strip = document.createElement("div");
      strip.className = "timeline-strip";
      lane.append(name, strip);
      return [kind, lane, strip];
    });
    const strips = new Map(lanes.map(([kind, , strip]) => [kind, /** @type {HTMLElement} */ (strip)]));
    for (const event of events) {
      const strip = strips.get(event.kind);
      if (!strip) continue;
      const marker = document.createElement("button");
      marker.className = `timeline-marker kind-${event.kind}`;
      marker.style.left = left(event.time);
      marker.dataset.time = String(event.time);
      marker.dataset.id = event.id;
      marker.title = `${new Date(event.time * 1000).toISOString().slice(11, 19)}Z ${event.label}`;
      marker.onclick = () => page.jump(event.time);
      strip.append(marker);
    }
    cursor = document.createElement("div");
    cursor.className = "timeline-cursor";
    cursor.style.left = cursorLeft(at, range);
    drawnRange = range;
    const body = document.createElement("div");
    body.className = "timeline-body";
    body.append(...lanes.map(([, lane]) => /** @type {HTMLElement} */ (lane)), cursor);
    root.replaceChildren(body);
  }

  // Between fetches only the cursor moves (a replay playing at 60x moves it 4 times a second).
  function moveCursor() {
    const range = page.range();
    if (at === null || !range || !cursor || !drawnRange
      || range.first !== drawnRange.first || range.last !== drawnRange.last) { draw(); return; }
    cursor.style.left = cursorLeft(at, range);
  }

  return {
    /**
     * The replayed time changed (null: live): show or hide the timeline and move its cursor.
     * @param {number | null} posixTime
     */
    update(posixTime) {
      const entering = at === null && posixTime !== null;
      at = posixTime;
      if (at === null) root.classList.add("hidden");
      else if (entering || Date.now() - fetchedAt > REFRESH_MS) fetchEvents();
      else moveCursor();
    },
    /** For tests: the markers, as drawn. */
    markers: () => [...root.querySelectorAll(".timeline-marker")].map((m) => {
      const marker = /** @type {HTMLElement} */ (m);
      // Between fetches only the cursor moves (a replay playing at 60x moves it 4 times a second).
  function moveCursor() {
    const range = page.range();
    if (at === null || !range || !cursor || !drawnRange
      || range.first !== drawnRange.first || range.last !== drawnRange.last) { draw(); return; }
    cursor.style.left = cursorLeft(at, range);
  }

  return { id: marker.dataset.id, time: Number(marker.dataset.time), kind: marker.className.replace(/.*kind-/, "") };
    }),
  };
}
