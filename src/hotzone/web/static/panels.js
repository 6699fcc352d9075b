// @ts-check
// The right column's lists: the alerts, grouped by track (collapsible, "acknowledge all" per
// group, a visual cue and a sound for a new P1), and the track list. The decision queue
// above them is decider.js's (its cards, countdowns and signing). Every alert, group and
// card has "jump to track": hook the track (details panel) and bring it to the map's centre.

import { className } from "./names.js";
import { alertGroups, isShown, nameOf, shownAlerts, trackNumber } from "./store.js";
import { altitudeText, speedText } from "./view.js";

const TRACK_LIST_LIMIT = 200;
/** How long a new P1's group pulses. */
const CUE_MS = 10000;

/**
 * Build an element: attributes (`onclick` as a handler), then children (nodes or text).
 * @param {string} tag
 * @param {Record<string, any>} [attributes]
 * @param {...(Node | string)} children
 * @returns {HTMLElement}
 */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "onclick") node.onclick = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

/** A "jump to track" button: hooks the track and centres the map on it. */
export function jumpButton(/** @type {string} */ trackId, /** @type {(trackId: string) => void} */ jump) {
  return element("button", { class: "jump", title: "jump to track: hook it and centre the map on it",
    "data-jump": trackId, onclick: (/** @type {Event} */ event) => { event.stopPropagation(); jump(trackId); } }, "jump");
}

/**
 * What the panels need of the page.
 * @typedef {{
 *   state: import("./store.js").Store,
 *   settings: import("./view.js").Settings,
 *   canDecide: () => boolean,
 *   acknowledge: (alertId: string) => Promise<any>,
 *   reload: () => Promise<void>,
 *   notice: (text: string, kind?: string) => void,
 *   hook: (trackId: string) => void,
 *   jump: (trackId: string) => void,
 *   pageText: (text: string, trackIds: (string | null | undefined)[]) => string,
 * }} PanelsPage
 */

/** @param {PanelsPage} page */
export function createPanels(page) {
  const { state, settings } = page;
  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
  /** @type {Set<string>} groups the operator collapsed (kept across redraws) */
  const collapsed = new Set();
  /** @type {Map<string, number>} group key -> when its cue ends (performance.now()) */
  const cueUntil = new Map();
  /** @type {Map<string, string>} */
  const listIcons = new Map();
  /** What the page cued, for tests: one entry per new P1 alert. */
  state.cues = /** @type {{alert_id: string, sound: boolean}[]} */ ([]);
  let audio = /** @type {AudioContext | null} */ (null);

  // ---- sound ---------------------------------------------------------------------------------
  // On by default for an operator; off where the browser is automated (tests, the bench):
  // `navigator.webdriver`. The header's toggle sets it, kept in this browser.
  const stored = localStorage.getItem("hz-sound");
  let soundOn = stored ? stored === "on" : !navigator.webdriver;
  const soundButton = $("sound-button");
  function showSound() {
    soundButton.textContent = soundOn ? "sound on" : "sound muted";
    soundButton.title = soundOn ? "a new P1 alert beeps: click to mute" : "muted: click for a beep on a new P1 alert";
    soundButton.dataset.sound = soundOn ? "on" : "off";
  }
  soundButton.onclick = () => {
    soundOn = !soundOn;
    localStorage.setItem("hz-sound", soundOn ? "on" : "off");
    // Browsers start audio only after a gesture: this click is one.
    if (soundOn) audioContext()?.resume();
    showSound();
  };
  showSound();

  function audioContext() {
    const Context = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
    if (!audio && Context) audio = new Context();
    return audio;
  }

  /** Two short high beeps (Web Audio: no sound file to serve). */
  function beep() {
    const context = audioContext();
    if (!context) return false;
    for (const start of [0, 0.3]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "square";
      oscillator.frequency.value = 880;
      gain.gain.value = 0.12;
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(context.currentTime + start);
      oscillator.stop(context.currentTime + start + 0.18);
    }
    return true;
  }

  /** A new P1 alert: its group pulses, the alerts heading flashes, and a beep unless muted. */
  function cue(/** @type {import("./store.js").Alert[]} */ alerts) {
    for (const alert of alerts) {
      const key = alert.track_id ? `track:${alert.track_id}` : `kind:${alert.kind}`;
      cueUntil.set(key, performance.now() + CUE_MS);
      collapsed.delete(key);  // a new P1 is never hidden in a collapsed group
      state.cues.push({ alert_id: alert.alert_id, sound: soundOn && beep() });
    }
    const heading = $("alerts-heading");
    heading.classList.remove("cue");
    void heading.offsetWidth;  // restart the animation
    heading.classList.add("cue");
    window.setTimeout(() => heading.classList.remove("cue"), CUE_MS);
    // The cue ends with its time, whether or not the list is redrawn meanwhile.
    window.setTimeout(() => {
      const now = performance.now();
      for (const group of document.querySelectorAll("#alerts .alert-group.cue")) {
        if ((cueUntil.get(/** @type {HTMLElement} */ (group).dataset.group || "") ?? 0) <= now) group.classList.remove("cue");
      }
    }, CUE_MS + 50);
  }

  // ---- alerts --------------------------------------------------------------------------------

  async function acknowledgeAll(/** @type {import("./store.js").Alert[]} */ alerts) {
    const failures = [];
    for (const alert of alerts) {
      try { await page.acknowledge(alert.alert_id); } catch (error) { failures.push(/** @type {Error} */ (error).message); }
    }
    if (failures.length) page.notice(`acknowledge: ${failures.join("; ")}`, "error");
    await page.reload();
  }

  function groupTitle(/** @type {import("./store.js").AlertGroup} */ group) {
    if (group.trackId) return nameOf(state, group.trackId) || group.trackId;
    return (group.kind || "").replaceAll("_", " ");
  }

  function renderAlerts() {
    const box = $("alerts");
    const now = performance.now();
    const acting = page.canDecide() && !state.replay;
    const groups = alertGroups(shownAlerts(state).values());
    box.replaceChildren(...groups.map((group) => {
      const cued = (cueUntil.get(group.key) ?? 0) > now;
      const open = group.alerts.filter((a) => a.state === "open");
      const summary = element("summary", {},
        element("span", { class: `group-priority p${group.priority}` }, `P${group.priority}`), " ",
        element("b", { class: "group-title" }, groupTitle(group)), " ",
        element("span", { class: "group-count" }, `${open.length} open · ${group.alerts.length}`));
      if (group.trackId) summary.append(" ", jumpButton(group.trackId, page.jump));
      if (acting && open.length) {
        summary.append(" ", element("button", { class: "ack-all", title: "acknowledge every open alert of this group",
          onclick: (/** @type {Event} */ event) => { event.preventDefault(); acknowledgeAll(open); } },
        `acknowledge all (${open.length})`));
      }
      const list = element("ol", {}, ...group.alerts.map((alert) => alertItem(alert, acting)));
      const node = /** @type {HTMLDetailsElement} */ (element("details", {
        class: `alert-group p${group.priority}` + (group.open ? "" : " settled") + (cued ? " cue" : ""),
        "data-group": group.key, "data-track-id": group.trackId || "" }, summary, list));
      node.open = !collapsed.has(group.key);
      node.addEventListener("toggle", () => { if (node.open) collapsed.delete(group.key); else collapsed.add(group.key); });
      return node;
    }));
    const open = groups.reduce((sum, g) => sum + g.open, 0);
    $("alert-count").textContent = groups.length ? `(${open} open, ${groups.length} groups)` : "";
  }

  function alertItem(/** @type {import("./store.js").Alert} */ alert, /** @type {boolean} */ acting) {
    const item = element("li", { class: `alert p${alert.priority} ${alert.state}`, "data-alert-id": alert.alert_id,
      "data-track-id": alert.track_id || "" }, `P${alert.priority} ${page.pageText(alert.summary, [alert.track_id])} `);
    if (alert.track_id) {
      const trackId = alert.track_id;
      item.title = "click: hook the track";
      item.addEventListener("click", (event) => { if (!/** @type {HTMLElement} */ (event.target).closest("button")) page.hook(trackId); });
      item.append(jumpButton(trackId, page.jump), " ");
    }
    if (alert.state === "open" && acting) {
      item.append(element("button", { class: "ack", onclick: () => acknowledgeAll([alert]) }, "acknowledge"));
    } else if (alert.state !== "open") {
      item.append(element("em", {}, alert.acknowledged_by ? `${alert.state} by ${alert.acknowledged_by}` : alert.state));
    }
    return item;
  }

  // ---- tracks --------------------------------------------------------------------------------

  function listIcon(/** @type {string} */ sidc) {
    let url = listIcons.get(sidc);
    if (!url) {
      url = `data:image/svg+xml;base64,${btoa(new (/** @type {any} */ (window).ms.Symbol)(sidc, { size: 14 }).asSVG())}`;
      listIcons.set(sidc, url);
    }
    return url;
  }

  function renderTrackList(/** @type {Iterable<import("./store.js").Track>} */ tracks) {
    const list = $("tracks");
    const confirmed = [...tracks].filter((track) => isShown(state, settings, track));
    $("track-count").textContent = `(${confirmed.length})`;
    if (confirmed.length > TRACK_LIST_LIMIT) {
      if (!list.dataset.hidden) list.replaceChildren(element("li", {}, `list hidden above ${TRACK_LIST_LIMIT} tracks`));
      list.dataset.hidden = "true";
      return;
    }
    delete list.dataset.hidden;
    list.replaceChildren(...confirmed.map((t) => {
      const img = element("img", { src: listIcon(t.sidc || ""), alt: t.sidc || "" });
      return element("li", { "data-track-id": t.track_id, class: t.track_id === state.hooked ? "hookable hooked" : "hookable",
        onclick: () => page.hook(t.track_id) }, img,
        `${trackNumber(state, t)}${t.callsign ? ` ${t.callsign}` : ""} ${className(t.target_class)} ${speedText(t.speed_mps ?? 0, settings.speedUnit === "off" ? "km/h" : settings.speedUnit)} ${altitudeText(t.altitude_m ?? 0, settings.altitudeUnit === "off" ? "m" : settings.altitudeUnit)}`);
    }));
  }

  return { renderAlerts, renderTrackList, cue };
}
