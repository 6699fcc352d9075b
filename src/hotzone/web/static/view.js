// @ts-check
// What the operator chose to see: overlays on or off, filters, label fields, leader length,
// the hooked track and the map's view, all kept in the page's URL (a view can be shared by
// sending the URL); the layer panel, the legend and the display panel that change them.

import { CLASS_NAMES, IDENTITY_NAMES, className, domainOf, identityName } from "./names.js";
import { ASSET_SIDCS, EFFECTOR_SIDCS, SENSOR_SIDCS } from "./sites.js";

/**
 * The overlays the layer panel toggles: MapLibre layers, or the page's own canvases.
 * Those marked ``off`` are off unless the URL's ``show=`` names them.
 * @type {{key: string, label: string, mapLayers?: string[], off?: boolean}[]}
 */
export const OVERLAYS = [
  { key: "countries", label: "countries", mapLayers: ["countries", "national-borders"] },
  { key: "borders", label: "border sectors", mapLayers: ["borders"] },
  { key: "coverage", label: "sensor coverage", mapLayers: ["coverage-fill", "coverage"] },
  { key: "sensors", label: "sensors" },
  { key: "effectors", label: "effectors" },
  { key: "assets", label: "defended assets", mapLayers: ["assets-fill", "assets-line"] },
  { key: "jamming", label: "jamming areas", mapLayers: ["jamming-fill", "jamming-line"] },
  { key: "no_fire_areas", label: "no-fire areas", mapLayers: ["no_fire_areas-fill", "no_fire_areas-line"] },
  { key: "corridors", label: "air corridors", mapLayers: ["corridors-fill", "corridors-line"] },
  { key: "names", label: "site names" },
  { key: "tracks", label: "tracks" },
  { key: "trails", label: "trails" },
  { key: "leaders", label: "velocity leaders" },
  { key: "labels", label: "track labels" },
  { key: "ellipses", label: "uncertainty ellipses (95 %)", off: true },
  { key: "engagements", label: "engagements" },
];

const OFF_BY_DEFAULT = new Set(OVERLAYS.filter((o) => o.off).map((o) => o.key));

export const DOMAINS = ["air", "land", "sea"];
export const IDENTITIES = Object.keys(IDENTITY_NAMES);
export const CLASSES = Object.keys(CLASS_NAMES);
/** Classes "hide clutter" hides: echoes and birds, not targets. */
export const CLUTTER_CLASSES = ["clutter", "bird_flock"];

/**
 * @typedef {{
 *   hiddenLayers: Set<string>, domains: Set<string>, identities: Set<string>,
 *   classes: Set<string>, minThreat: number, hideClutter: boolean, hideTentative: boolean,
 *   leaderSeconds: number, altitudeUnit: string, speedUnit: string, heading: boolean,
 *   callsign: boolean, showClass: boolean, hook: string | null, mapView: number[] | null,
 *   night: boolean, coverageAltitude: number,
 * }} Settings
 */

const list = (/** @type {string | null} */ value, /** @type {string[]} */ all) =>
  new Set(value === null ? all : value.split(",").filter((v) => all.includes(v)));

/**
 * The settings a URL's query asks for (defaults for what it does not say).
 * @param {URLSearchParams} query
 * @returns {Settings}
 */
export function settingsFrom(query) {
  const number = (/** @type {string} */ key, /** @type {number} */ fallback) => {
    const value = Number(query.get(key));
    return query.has(key) && Number.isFinite(value) ? value : fallback;
  };
  const view = (query.get("view") || "").split("/").map(Number);
  return {
    hiddenLayers: new Set([...(query.get("hide") || "").split(",").filter(Boolean),
      ...OVERLAYS.filter((o) => o.off && !(query.get("show") || "").split(",").includes(o.key)).map((o) => o.key)]),
    domains: list(query.get("domain"), DOMAINS),
    identities: list(query.get("identity"), IDENTITIES),
    classes: list(query.get("class"), CLASSES),
    minThreat: number("threat", 0),
    hideClutter: query.get("clutter") === "hide",
    hideTentative: query.get("tentative") !== "show",
    leaderSeconds: Math.max(0, Math.min(3600, number("leader", 60))),
    altitudeUnit: ["FL", "ft", "m", "off"].includes(query.get("alt") || "") ? /** @type {string} */ (query.get("alt")) : "m",
    speedUnit: ["kt", "km/h", "off"].includes(query.get("speed") || "") ? /** @type {string} */ (query.get("speed")) : "km/h",
    heading: query.get("heading") !== "0",
    callsign: query.get("callsign") !== "0",
    showClass: query.get("classlabel") !== "0",
    hook: query.get("hook"),
    mapView: view.length === 3 && view.every(Number.isFinite) ? view : null,
    night: query.get("night") === "1",
    coverageAltitude: Math.max(0, Math.min(30000, number("covalt", 300))),
  };
}

/**
 * Write ``settings`` into the URL (replacing the entry: no history per click), keeping the
 * query keys it does not own (pixel_ratio, ...).
 * @param {Settings} settings
 */
export function writeUrl(settings) {
  const query = new URLSearchParams(location.search);
  /** @type {[string, string | null][]} */
  const owned = [
    ["hide", [...settings.hiddenLayers].filter((k) => !OFF_BY_DEFAULT.has(k)).join(",") || null],
    ["show", [...OFF_BY_DEFAULT].filter((k) => !settings.hiddenLayers.has(k)).join(",") || null],
    ["covalt", settings.coverageAltitude === 300 ? null : String(settings.coverageAltitude)],
    ["domain", settings.domains.size === DOMAINS.length ? null : [...settings.domains].join(",")],
    ["identity", settings.identities.size === IDENTITIES.length ? null : [...settings.identities].join(",")],
    ["class", settings.classes.size === CLASSES.length ? null : [...settings.classes].join(",")],
    ["threat", settings.minThreat > 0 ? String(settings.minThreat) : null],
    ["clutter", settings.hideClutter ? "hide" : null],
    ["tentative", settings.hideTentative ? null : "show"],
    ["leader", settings.leaderSeconds === 60 ? null : String(settings.leaderSeconds)],
    ["alt", settings.altitudeUnit === "m" ? null : settings.altitudeUnit],
    ["speed", settings.speedUnit === "km/h" ? null : settings.speedUnit],
    ["heading", settings.heading ? null : "0"],
    ["callsign", settings.callsign ? null : "0"],
    ["classlabel", settings.showClass ? null : "0"],
    ["hook", settings.hook],
    ["view", settings.mapView ? settings.mapView.map((v, i) => v.toFixed(i === 0 ? 2 : 5)).join("/") : null],
    ["night", settings.night ? "1" : null],
  ];
  for (const [key, value] of owned) {
    if (value === null || value === "") query.delete(key); else query.set(key, value);
  }
  const search = query.toString();
  history.replaceState(null, "", location.pathname + (search ? `?${search}` : ""));
}

/**
 * Whether the filters let ``track`` be drawn and listed.
 * @param {Settings} settings
 * @param {any} track
 */
export function passes(settings, track) {
  if (track.status !== "confirmed" && !(track.status === "tentative" && !settings.hideTentative)) return false;
  if (!settings.domains.has(domainOf(track.target_class))) return false;
  if (!settings.identities.has(track.standard_identity)) return false;
  if (!settings.classes.has(track.target_class)) return false;
  if (settings.hideClutter && CLUTTER_CLASSES.includes(track.target_class)) return false;
  if (settings.minThreat > 0 && !((track.threat_score ?? 0) >= settings.minThreat)) return false;
  return true;
}

/** An altitude in the chosen unit: FL (hundreds of feet), ft or m; "" when off. */
export function altitudeText(/** @type {number} */ metres, /** @type {string} */ unit) {
  const feet = metres / 0.3048;
  switch (unit) {
    case "FL": return `FL${String(Math.max(0, Math.round(feet / 100))).padStart(3, "0")}`;
    case "ft": return `${Math.round(feet / 50) * 50} ft`;
    case "m": return `${Math.round(metres / 50) * 50} m`;
    default: return "";
  }
}

/** A ground speed in the chosen unit; "" when off. */
export function speedText(/** @type {number} */ metresPerSecond, /** @type {string} */ unit) {
  switch (unit) {
    case "kt": return `${Math.round(metresPerSecond * 3600 / 1852 / 5) * 5} kt`;
    case "km/h": return `${Math.round(metresPerSecond * 3.6 / 10) * 10} km/h`;
    default: return "";
  }
}

/**
 * The layer panel: overlays, filters and the legend; the display panel: label fields and
 * leader length. ``changed(what)`` is called after every change ("layers", "filters",
 * "display").
 * @param {{settings: Settings, element: (tag: string, attributes?: Record<string, any>, ...children: any[]) => HTMLElement,
 *   changed: (what: string) => void, legendSymbol: (sidc: string) => string}} page
 */
export function buildPanels(page) {
  const { settings, element, changed } = page;
  const checkbox = (/** @type {string} */ name, /** @type {boolean} */ checked, /** @type {(on: boolean) => void} */ set, /** @type {string} */ label) => {
    const input = /** @type {HTMLInputElement} */ (element("input", { type: "checkbox", name }));
    input.checked = checked;
    input.onchange = () => set(input.checked);
    return element("label", { class: "check" }, input, ` ${label}`);
  };
  const toggleIn = (/** @type {Set<string>} */ set, /** @type {string} */ value, /** @type {string} */ what) =>
    (/** @type {boolean} */ on) => { if (on) set.add(value); else set.delete(value); changed(what); };

  const layers = /** @type {HTMLElement} */ (document.getElementById("layer-panel"));
  layers.replaceChildren(
    element("h3", {}, "Overlays"),
    ...OVERLAYS.map((o) => checkbox(`layer-${o.key}`, !settings.hiddenLayers.has(o.key), (on) => {
      if (on) settings.hiddenLayers.delete(o.key); else settings.hiddenLayers.add(o.key);
      changed("layers");
    }, o.label)),
    element("h3", {}, "Filters"),
    element("div", { class: "filter-row" }, ...DOMAINS.map((d) =>
      checkbox(`domain-${d}`, settings.domains.has(d), toggleIn(settings.domains, d, "filters"), d))),
    element("div", { class: "filter-row" }, ...IDENTITIES.map((i) =>
      checkbox(`identity-${i}`, settings.identities.has(i), toggleIn(settings.identities, i, "filters"), identityName(i)))),
    element("details", { class: "class-filter" }, element("summary", {}, "classes"),
      ...CLASSES.map((c) => checkbox(`class-${c}`, settings.classes.has(c), toggleIn(settings.classes, c, "filters"), className(c)))),
    (() => {
      const select = /** @type {HTMLSelectElement} */ (element("select", { name: "threat" },
        ...[["0", "any threat"], ["0.3", "threat ≥ 0.3"], ["0.5", "threat ≥ 0.5"], ["0.7", "threat ≥ 0.7"]].map(
          ([value, text]) => element("option", { value }, text))));
      select.value = String(settings.minThreat);
      select.onchange = () => { settings.minThreat = Number(select.value); changed("filters"); };
      return element("label", {}, "threat level ", select);
    })(),
    checkbox("hide-clutter", settings.hideClutter, (on) => { settings.hideClutter = on; changed("filters"); }, "hide clutter and birds"),
    checkbox("hide-tentative", settings.hideTentative, (on) => { settings.hideTentative = on; changed("filters"); }, "hide tentative tracks"),
    element("h3", {}, "Legend"),
    legend(page),
  );

  const display = /** @type {HTMLElement} */ (document.getElementById("display-panel"));
  const choice = (/** @type {string} */ name, /** @type {string[]} */ options, /** @type {string} */ value, /** @type {(v: string) => void} */ set, /** @type {string} */ label) => {
    const select = /** @type {HTMLSelectElement} */ (element("select", { name }, ...options.map((o) => element("option", { value: o }, o))));
    select.value = value;
    select.onchange = () => { set(select.value); changed("display"); };
    return element("label", {}, `${label} `, select);
  };
  const leader = /** @type {HTMLInputElement} */ (element("input", { type: "number", name: "leader", min: "0", max: "3600", step: "10" }));
  leader.value = String(settings.leaderSeconds);
  leader.onchange = () => {
    const seconds = Number(leader.value);
    settings.leaderSeconds = Number.isFinite(seconds) ? Math.max(0, Math.min(3600, seconds)) : 60;
    changed("display");
  };
  display.replaceChildren(
    element("h3", {}, "Labels"),
    checkbox("label-callsign", settings.callsign, (on) => { settings.callsign = on; changed("display"); }, "callsign"),
    checkbox("label-class", settings.showClass, (on) => { settings.showClass = on; changed("display"); }, "class"),
    checkbox("label-heading", settings.heading, (on) => { settings.heading = on; changed("display"); }, "heading"),
    choice("altitude-unit", ["FL", "ft", "m", "off"], settings.altitudeUnit, (v) => { settings.altitudeUnit = v; }, "altitude"),
    choice("speed-unit", ["kt", "km/h", "off"], settings.speedUnit, (v) => { settings.speedUnit = v; }, "speed"),
    element("h3", {}, "Velocity leaders"),
    element("label", {}, "length ", leader, " s (0: off)"),
    element("h3", {}, "Sensor coverage"),
    (() => {
      const input = /** @type {HTMLInputElement} */ (element("input", { type: "number", name: "coverage-altitude", min: "0", max: "30000", step: "100" }));
      input.value = String(settings.coverageAltitude);
      input.onchange = () => {
        const metres = Number(input.value);
        settings.coverageAltitude = Number.isFinite(metres) ? Math.max(0, Math.min(30000, metres)) : 300;
        changed("display");
      };
      return element("label", {}, "at altitude ", input, " m");
    })(),
    element("h3", {}, "Night"),
    checkbox("night", settings.night, (on) => { settings.night = on; changed("display"); }, "night mode (dimmed, red-safe)"),
  );
}

/** @param {{element: (tag: string, attributes?: Record<string, any>, ...children: any[]) => HTMLElement, legendSymbol: (sidc: string) => string}} page */
function legend(page) {
  const { element } = page;
  // Frames of an unknown-class air track per identity (APP-6 D, as the map draws them).
  const identities = [["friend", "10030100001101000000"], ["neutral", "10040100001101000000"],
    ["unknown / pending", "10010100001101000000"], ["suspect", "10050100001101000000"],
    ["hostile", "10060100001101000000"]];
  const areas = [["defended asset", "#48f"], ["jamming", "#f80"], ["no-fire area", "#f0f"],
    ["air corridor", "#0ff"], ["border sector", "#fd4"], ["sensor coverage", "#5a8"]];
  const sites = [["radar", SENSOR_SIDCS.air_surveillance_radar], ["EO/IR camera", SENSOR_SIDCS.eo_ir_camera],
    ["RF detector", SENSOR_SIDCS.passive_rf_detector], ["acoustic sensor", SENSOR_SIDCS.acoustic_array],
    ["jammer", EFFECTOR_SIDCS.ew_jammer], ["interceptor drones", EFFECTOR_SIDCS.interceptor_drone],
    ["SAM (SHORAD)", EFFECTOR_SIDCS.shorad], ["defended asset", ASSET_SIDCS.default]];
  return element("div", { class: "legend" },
    ...identities.map(([name, sidc]) => element("div", {},
      element("img", { src: page.legendSymbol(sidc), alt: name }), ` ${name}`)),
    ...areas.map(([name, colour]) => element("div", {},
      element("span", { class: "swatch", style: `border-color:${colour};background:${colour}40` }), ` ${name}`)),
    ...sites.map(([name, sidc]) => element("div", {},
      element("img", { src: page.legendSymbol(sidc), alt: name }), ` ${name}`)),
    element("div", {}, element("span", { class: "leader-sample" }), " velocity leader"),
    element("div", {}, element("span", { class: "engagement-sample" }), " engagement (order)"),
  );
}
