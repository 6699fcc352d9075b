// @ts-check
// The hooked track's details panel: who it is (track name, callsign, ICAO 24-bit address,
// MMSI), what it is (class with its probabilities and the classifier's reasons), whose it
// is (identity and why), where it comes from (contributing sensors, nations), how good the
// track is (quality, 95 % position ellipse), its history of altitude and speed, and the
// alerts, proposals and orders about it (each a link to where it is on the page).
// GET /api/tracks/{id}/details, refreshed every REFRESH_MS while the track stays hooked.

import { className, humanize, identityName } from "./names.js";
import { altitudeText, speedText } from "./view.js";

const REFRESH_MS = 2000;

/**
 * @param {{state: any, api: (path: string) => Promise<any>, withView: (path: string) => string,
 *   element: (tag: string, attributes?: Record<string, any>, ...children: any[]) => HTMLElement,
 *   nameOf: (trackId: string) => string | null, ownNation: () => string, settings: any,
 *   unhook: () => void, jumpTo: (selector: string) => void, redraw: () => void}} page
 */
export function createDetails(page) {
  const { state, element } = page;
  const panel = /** @type {HTMLElement} */ (document.getElementById("details"));
  let timer = 0;
  let shownFor = /** @type {string | null} */ (null);

  async function refresh() {
    window.clearTimeout(timer);
    const trackId = state.hooked;
    if (!trackId) { panel.classList.add("hidden"); panel.replaceChildren(); shownFor = null; return; }
    try {
      const details = await page.api(page.withView(`/api/tracks/${encodeURIComponent(trackId)}/details`));
      if (state.hooked !== trackId) return;
      render(details);
    } catch (error) {
      if (state.hooked !== trackId) return;
      // Not (or no longer) visible to this view, or gone: say so, keep the hook.
      const track = state.tracks.get(trackId);
      if (!track || shownFor !== trackId) {
        panel.replaceChildren(header(trackId, track), element("p", { class: "error" },
          `no details: ${/** @type {Error} */ (error).message}`));
        panel.classList.remove("hidden");
        panel.dataset.trackId = trackId;
      }
    }
    timer = window.setTimeout(refresh, REFRESH_MS);
  }

  function header(/** @type {string} */ trackId, /** @type {any} */ track) {
    const close = element("button", { class: "close", title: "unhook (Esc)", onclick: page.unhook }, "×");
    const follow = /** @type {HTMLInputElement} */ (element("input", { type: "checkbox", name: "follow" }));
    follow.checked = state.follow;
    follow.onchange = () => { state.follow = follow.checked; };
    return element("div", { class: "details-head" },
      element("b", { class: "track-name" }, track ? page.nameOf(trackId) || trackId : trackId), " ",
      element("span", { class: "track-id" }, `(${trackId})`), " ",
      element("label", { class: "follow" }, follow, " follow"), close);
  }

  const row = (/** @type {string} */ key, /** @type {any} */ value, /** @type {string} */ field) =>
    element("tr", { "data-field": field }, element("th", {}, key), element("td", {}, value));

  function render(/** @type {any} */ d) {
    shownFor = d.track_id;
    const { settings } = page;
    const ids = [d.callsign && `callsign ${d.callsign}`, d.icao24 && `ICAO ${String(d.icao24).toUpperCase()}`,
      d.mmsi && `MMSI ${d.mmsi}`].filter(Boolean).join(" · ") || "none (non-cooperative)";
    const probabilities = Object.entries(d.class_probabilities || {}).sort((a, b) => b[1] - a[1]).slice(0, 5);
    const ellipse = d.ellipse
      ? `${Math.round(d.ellipse.semi_major_m)} × ${Math.round(d.ellipse.semi_minor_m)} m (95 %), major axis ${Math.round(d.ellipse.bearing_deg)}°`
      : "—";
    const nations = [...new Set([page.nameOf(d.track_id)?.split(" ")[0] || page.ownNation()])];
    const humane = (/** @type {string} */ text) => humanize(text, page.nameOf, [d.track_id]);
    panel.replaceChildren(
      header(d.track_id, d),
      element("table", { class: "facts" },
        row("identifiers", ids, "identifiers"),
        row("class", element("span", {},
          element("b", {}, className(d.target_class)),
          element("div", { class: "probabilities" }, ...probabilities.map(([name, p]) =>
            element("div", { class: "probability", "data-class": name },
              element("span", { class: "bar", style: `width:${Math.round(Number(p) * 100)}%` }),
              element("span", { class: "bar-text" }, `${className(name)} ${Math.round(Number(p) * 100)}%`))))), "class"),
        row("identity", element("b", { class: `identity-${d.standard_identity}` }, identityName(d.standard_identity)), "identity"),
        row("threat", d.threat_score === null ? "—" : Number(d.threat_score).toFixed(2), "threat"),
        row("kinematics", [speedText(d.speed_mps, settings.speedUnit === "off" ? "km/h" : settings.speedUnit),
          altitudeText(d.altitude_m, settings.altitudeUnit === "off" ? "m" : settings.altitudeUnit),
          `heading ${String(Math.round(d.course_deg) % 360).padStart(3, "0")}°`].join(" · "), "kinematics"),
        row("sensors", (d.sensors || []).join(", ") || "—", "sensors"),
        row("nations", nations.join(", "), "nations"),
        row("quality", `${Number(d.quality).toFixed(2)} · ${d.status}${d.quality < 1 ? " · coasting" : ""}`, "quality"),
        row("uncertainty", ellipse, "uncertainty"),
      ),
      element("details", { class: "reasons", open: "" }, element("summary", {}, "why (classifier and identity)"),
        element("ul", {}, ...(d.reasons || []).map((/** @type {string} */ r) => element("li", {}, humane(r))))),
      historyPlot(d.history || []),
      linked(d, humane),
    );
    panel.dataset.trackId = d.track_id;
    panel.classList.remove("hidden");
    state.hookedEllipse = d.ellipse ? { ...d.ellipse, track_id: d.track_id } : null;
    page.redraw();
  }

  /** Altitude (m) and speed (m/s) against time: two polylines in one small SVG. */
  function historyPlot(/** @type {any[]} */ points) {
    const width = 300, height = 70;
    const box = element("div", { class: "history" }, element("div", { class: "history-title" },
      element("span", { class: "altitude-key" }, "altitude"), " and ", element("span", { class: "speed-key" }, "speed"),
      ` · last ${points.length ? Math.round(points[points.length - 1].time - points[0].time) : 0} s`));
    if (points.length < 2) return box;
    const t0 = points[0].time, t1 = points[points.length - 1].time || t0 + 1;
    const line = (/** @type {string} */ field) => {
      const values = points.map((p) => p[field]).filter((v) => v !== null && v !== undefined);
      if (!values.length) return "";
      const low = Math.min(...values), high = Math.max(...values), span = high - low || 1;
      return points.filter((p) => p[field] !== null && p[field] !== undefined).map((p) =>
        `${((p.time - t0) / (t1 - t0 || 1) * width).toFixed(1)},${(height - 4 - (p[field] - low) / span * (height - 8)).toFixed(1)}`).join(" ");
    };
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("class", "history-plot");
    for (const [field, colour] of [["altitude_m", "#8cf"], ["speed_mps", "#fc6"]]) {
      const polyline = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      polyline.setAttribute("points", line(field));
      polyline.setAttribute("fill", "none");
      polyline.setAttribute("stroke", colour);
      polyline.setAttribute("data-field", field);
      svg.append(polyline);
    }
    box.append(svg);
    return box;
  }

  function linked(/** @type {any} */ d, /** @type {(t: string) => string} */ humane) {
    const items = [];
    for (const alert of d.alerts || []) {
      items.push(element("li", { class: "link", "data-alert-id": alert.alert_id,
        onclick: () => page.jumpTo(`#alerts [data-alert-id="${CSS.escape(alert.alert_id)}"]`) },
      `alert P${alert.priority} ${humane(alert.summary)} (${alert.state})`));
    }
    for (const proposal of d.proposals || []) {
      items.push(element("li", { class: "link", "data-proposal-id": proposal.proposal_id,
        onclick: () => page.jumpTo(`#proposals [data-track-id="${CSS.escape(proposal.track_id)}"]`) },
      `proposal ${proposal.proposal_id}: ${proposal.action} with ${proposal.effector_id} (${proposal.state})`));
    }
    for (const order of d.orders || []) {
      items.push(element("li", { class: "link", "data-order-id": order.order_id,
        onclick: () => page.jumpTo(`#proposals [data-order-id="${CSS.escape(order.order_id)}"]`) },
      `order ${order.order_id}: ${order.effector_id}, signed by ${order.issuer}`));
    }
    return element("div", { class: "linked" }, element("b", {}, "alerts, proposals, orders"),
      items.length ? element("ul", {}, ...items) : element("p", { class: "hint" }, "none"));
  }

  return { refresh };
}
