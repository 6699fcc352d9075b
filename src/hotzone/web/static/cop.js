// The common operational picture: MapLibre (no tile server) + milsymbol APP-6D symbols.
//
// Built to stay responsive at thousands of track updates per second:
// - the WebSocket handler only merges each batch into `state` (latest state per object) and
//   marks what changed; nothing is drawn there;
// - drawing happens at most every RENDER_INTERVAL_MS, and only for what changed: the track
//   source is re-set from a kept feature per track, trails at most every TRAIL_INTERVAL_MS,
//   panels only when their alerts/proposals changed;
// - one map image per symbol code (SIDC), made once by milsymbol; the label (track number,
//   class, speed, altitude) is MapLibre text beside it. An image per labelled symbol would be
//   an image per track, and MapLibre copies every image a tile uses to its worker on each
//   source update: at a thousand tracks that copying, not drawing, saturated the page.
"use strict";

const RENDER_INTERVAL_MS = 250;
const TRAIL_INTERVAL_MS = 1000;
const TRACK_LIST_INTERVAL_MS = 1000;
const TRACK_LIST_LIMIT = 200;
const TRAIL_POINTS = 60;
const IDENTITY_COLOURS = {
  pending: "rgb(255,255,128)", unknown: "rgb(255,255,128)", assumed_friend: "rgb(128,224,255)",
  friend: "rgb(128,224,255)", neutral: "rgb(170,255,170)", suspect: "rgb(255,128,128)",
  hostile: "rgb(255,128,128)",
};

const state = {
  user: null, token: null, viewAs: "", socket: null,
  tracks: new Map(), trails: new Map(), alerts: new Map(), proposals: new Map(),
  clock: null, firstTime: null, replayAt: null, updatesReceived: 0,
  batchesReceived: 0, lastBatchAt: 0, mapReady: false,
  // What changed since the last draw.
  changedTracks: new Set(), tracksReset: true, trailsDirty: true, alertsDirty: true,
  proposalsDirty: true, clockDirty: true,
  // Kept map features, one per confirmed track, updated in place.
  trackFeatures: new Map(), trailFeatures: [], symbolImages: new Set(), listIcons: new Map(),
  lastTrailsAt: -Infinity, lastListAt: -Infinity, renders: 0,
};

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const headers = { "content-type": "application/json" };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    throw new Error(`${response.status}: ${detail.detail || response.statusText}`);
  }
  return response.json();
}

function withView(path) {
  if (!state.viewAs) return path;
  return path + (path.includes("?") ? "&" : "?") + `view_as=${state.viewAs}`;
}

// ---- map -------------------------------------------------------------------------------

// No "glyphs" URL: MapLibre draws label glyphs locally (no font server, no internet).
const map = new maplibregl.Map({
  container: "map",
  style: { version: 8, sources: {}, layers: [
    { id: "background", type: "background", paint: { "background-color": "#24303d" } }] },
  center: [23.1, 54.0], zoom: 8, attributionControl: false,
  // Symbols appear at once: a fade would repaint every frame for 300 ms after each update.
  fadeDuration: 0,
});
map.addControl(new maplibregl.AttributionControl({ customAttribution: "Natural Earth" }));

const empty = () => ({ type: "FeatureCollection", features: [] });

function addArea(id, source, fill, line, opacity) {
  map.addLayer({ id: `${id}-fill`, type: "fill", source, paint: { "fill-color": fill, "fill-opacity": opacity } });
  map.addLayer({ id: `${id}-line`, type: "line", source, paint: { "line-color": line, "line-width": 1.2 } });
}

map.on("load", () => {
  for (const name of ["countries", "national-borders", "coverage", "assets", "borders", "jamming",
    "no_fire_areas", "corridors", "sensors", "effectors", "tracks"]) {
    map.addSource(name, { type: "geojson", data: empty() });
  }
  map.addLayer({ id: "countries", type: "fill", source: "countries", paint: { "fill-color": "#3b4654" } });
  map.addLayer({ id: "national-borders", type: "line", source: "national-borders", paint: { "line-color": "#9aa", "line-width": 1 } });
  map.addLayer({ id: "coverage", type: "line", source: "coverage", paint: { "line-color": "#5a8", "line-width": 0.7, "line-dasharray": [3, 3] } });
  addArea("assets", "assets", "#48f", "#8af", 0.25);
  addArea("jamming", "jamming", "#f80", "#fa4", 0.12);
  addArea("no_fire_areas", "no_fire_areas", "#f0f", "#f6f", 0.15);
  addArea("corridors", "corridors", "#0ff", "#6ff", 0.08);
  map.addLayer({ id: "borders", type: "line", source: "borders", paint: { "line-color": "#fd4", "line-width": 2.5 } });
  map.addLayer({ id: "sensors", type: "circle", source: "sensors", paint: { "circle-radius": 4, "circle-color": "#5c8" } });
  map.addLayer({ id: "effectors", type: "circle", source: "effectors", paint: { "circle-radius": 5, "circle-color": "#c4f" } });
  // Tracks and their trails share one source: one update, one worker pass, one repaint.
  map.addLayer({ id: "trails", type: "line", source: "tracks", filter: ["==", ["geometry-type"], "LineString"], paint: { "line-color": ["get", "colour"], "line-width": 1.5, "line-opacity": 0.7 } });
  // Symbols always show; a label that would overlap another is left out until there is room.
  map.addLayer({ id: "tracks", type: "symbol", source: "tracks", filter: ["==", ["geometry-type"], "Point"], layout: {
    "icon-image": ["get", "icon"], "icon-allow-overlap": true, "icon-ignore-placement": true,
    "text-field": ["get", "label"], "text-size": 10, "text-anchor": "left", "text-justify": "left",
    "text-offset": [1.4, 0], "text-optional": true, "text-max-width": 30 },
    paint: { "text-color": "#eee", "text-halo-color": "#111", "text-halo-width": 1 } });
  state.mapReady = true;
  state.tracksReset = true;
  state.trailsDirty = true;
  scheduleRender();
  if (state.user) loadStatic();
});

// One map image per SIDC, drawn once by milsymbol.
function symbolImage(sidc) {
  const key = `sidc:${sidc}`;
  if (!state.symbolImages.has(key)) {
    const ratio = window.devicePixelRatio || 1;
    const canvas = new ms.Symbol(sidc, { size: 22 }).asCanvas(ratio);
    const image = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    if (!map.hasImage(key)) map.addImage(key, image, { pixelRatio: ratio });
    state.symbolImages.add(key);
  }
  return key;
}

// The APP-6 label fields: track number, class, speed, altitude.
function trackLabel(track) {
  const speed = Math.round(track.speed_mps * 3.6 / 10) * 10;
  const altitude = Math.round(track.altitude_m / 50) * 50;
  return `TN${track.track_number} ${track.target_class.replaceAll("_", " ")}\n${speed} km/h ${altitude} m`;
}

function trackFeature(track) {
  return {
    type: "Feature", id: track.track_number,
    properties: { track_id: track.track_id, icon: symbolImage(track.sidc), label: trackLabel(track) },
    geometry: { type: "Point", coordinates: [track.lon_deg, track.lat_deg] },
  };
}

function trailFeatures() {
  const features = [];
  for (const [trackId, points] of state.trails) {
    const track = state.tracks.get(trackId);
    if (!track || track.status !== "confirmed" || points.length < 2) continue;
    features.push({ type: "Feature", properties: { colour: IDENTITY_COLOURS[track.standard_identity] || "#fff" },
      geometry: { type: "LineString", coordinates: points } });
  }
  return features;
}

// ---- state updates -------------------------------------------------------------------------

function applyUpdate(update) {
  const data = update.data;
  switch (update.kind) {
    case "track": {
      const previous = state.tracks.get(data.track_id);
      if (previous && previous.time > data.time) break;  // ISO times of one clock: older state
      state.tracks.set(data.track_id, data);
      state.changedTracks.add(data.track_id);
      let trail = state.trails.get(data.track_id);
      if (!trail) state.trails.set(data.track_id, trail = []);
      const last = trail[trail.length - 1];
      if (!last || last[0] !== data.lon_deg || last[1] !== data.lat_deg) trail.push([data.lon_deg, data.lat_deg]);
      if (trail.length > TRAIL_POINTS) trail.splice(0, trail.length - TRAIL_POINTS);
      state.trailsDirty = true;
      if (state.firstTime === null) state.firstTime = Date.parse(data.time) / 1000;
      break;
    }
    case "alert": state.alerts.set(data.alert_id, data); state.alertsDirty = true; break;
    case "proposal": state.proposals.set(data.proposal_id, data); state.proposalsDirty = true; break;
    case "abort": $("abort-button").textContent = `ABORTED by ${data.by}`; break;
    default: break;
  }
}

function connectStream() {
  if (state.socket) state.socket.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = `acks=true&token=${encodeURIComponent(state.token)}` + (state.viewAs ? `&view_as=${state.viewAs}` : "");
  const socket = new WebSocket(`${scheme}://${location.host}/api/stream?${query}`);
  socket.onmessage = (event) => {
    if (socket !== state.socket) return;  // a stream replaced by the nation selector
    const message = JSON.parse(event.data);
    if (message.clock && message.clock !== state.clock) { state.clock = message.clock; state.clockDirty = true; }
    if (message.type !== "batch") return;
    for (const update of message.updates) applyUpdate(update);
    // Applied: the server may send the next batch (it holds newer states, coalesced, meanwhile).
    socket.send('{"type":"ack"}');
    state.updatesReceived += message.updates.length;
    state.batchesReceived += 1;
    state.lastBatchAt = performance.now();
    if (window.hz.onBatch) window.hz.onBatch(message.updates);
    scheduleRender();
  };
  state.socket = socket;
}

function markAllDirty() {
  state.tracksReset = true;
  state.trailsDirty = true;
  state.alertsDirty = true;
  state.proposalsDirty = true;
  state.clockDirty = true;
  state.lastListAt = -Infinity;
  scheduleRender();
}

async function loadPicture() {
  const [tracks, alerts, proposals] = await Promise.all([
    api(withView("/api/tracks")), api(withView("/api/alerts")), api(withView("/api/proposals"))]);
  state.tracks = new Map(tracks.map((t) => [t.track_id, t]));
  state.alerts = new Map(alerts.map((a) => [a.alert_id, a]));
  state.proposals = new Map(proposals.map((p) => [p.proposal_id, p]));
  const histories = await Promise.all(tracks.filter((t) => t.status === "confirmed").map(
    (t) => api(withView(`/api/tracks/${encodeURIComponent(t.track_id)}/history`)).catch(() => null)));
  state.trails = new Map();
  for (const history of histories) {
    if (!history) continue;
    state.trails.set(history.track_id, history.points.slice(-TRAIL_POINTS).map((p) => [p.lon_deg, p.lat_deg]));
    for (const point of history.points) {
      if (state.firstTime === null || point.time < state.firstTime) state.firstTime = point.time;
    }
  }
  const status = await api("/api/status");
  state.clock = status.clock;
  if (status.aborted) $("abort-button").textContent = "ABORTED";
  markAllDirty();
}

async function loadStatic() {
  if (!state.mapReady) return;
  const [borders, layers] = await Promise.all([api("/api/borders"), api("/api/layers")]);
  map.getSource("countries").setData({ type: "FeatureCollection", features: borders.features });
  map.getSource("national-borders").setData({ type: "FeatureCollection", features: borders.borders });
  for (const name of ["coverage", "assets", "borders", "jamming", "no_fire_areas", "corridors", "sensors", "effectors"]) {
    if (layers[name]) map.getSource(name).setData(layers[name]);
  }
}

// ---- panels --------------------------------------------------------------------------------

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "onclick") node.onclick = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const canDecide = () => state.user && state.user.role !== "observer";

function renderAlerts() {
  const list = $("alerts");
  list.replaceChildren();
  const alerts = [...state.alerts.values()].sort((a, b) => a.priority - b.priority || a.time.localeCompare(b.time));
  for (const alert of alerts) {
    const item = element("li", { class: `alert p${alert.priority} ${alert.state}`, "data-alert-id": alert.alert_id },
      `P${alert.priority} ${alert.summary} `);
    if (alert.state === "open" && canDecide()) {
      item.append(element("button", { class: "ack", onclick: () => act(`/api/alerts/${alert.alert_id}/acknowledge`, {}) }, "acknowledge"));
    } else if (alert.state !== "open") {
      item.append(element("em", {}, `${alert.state} by ${alert.acknowledged_by || "?"}`));
    }
    list.append(item);
  }
}

function renderProposals() {
  const box = $("proposals");
  box.replaceChildren();
  for (const proposal of state.proposals.values()) {
    const approvals = proposal.decisions.filter((d) => d.verdict === "approve").length;
    const card = element("div", { class: `card ${proposal.effect_class}`, "data-proposal-id": proposal.proposal_id, "data-state": proposal.state });
    const timeToEffect = proposal.time_to_effect_s === undefined ? "?" : `${Math.round(proposal.time_to_effect_s)} s`;
    card.append(element("div", {}, element("b", {}, `${proposal.action} ${proposal.track_id}`),
      ` ${proposal.target_class.replaceAll("_", " ")} (${proposal.standard_identity})`));
    card.append(element("div", {}, `effector ${proposal.effector_id} · ${proposal.effect_class} · time to effect ${timeToEffect}`));
    const table = element("table");
    for (const check of proposal.roe_checks) {
      table.append(element("tr", {}, element("td", {}, check.rule),
        element("td", { class: check.passed ? "pass" : "fail" }, check.passed ? "pass" : "FAIL"),
        element("td", {}, check.detail)));
    }
    card.append(table);
    card.append(element("div", { class: "proposal-state" },
      `${proposal.state} · approvals ${approvals}/${proposal.approvals_needed}` +
      (proposal.decisions.length ? ` (${proposal.decisions.map((d) => `${d.operator_id}: ${d.verdict}`).join(", ")})` : "")));
    const mine = proposal.decisions.some((d) => state.user && d.operator_id === state.user.username);
    if (canDecide() && !mine && (proposal.state === "open" || proposal.state === "partially_approved")) {
      const url = `/api/proposals/${proposal.proposal_id}/decision`;
      card.append(element("button", { class: "approve", onclick: () => act(url, { verdict: "approve" }) }, "approve"));
      card.append(element("button", { class: "reject", onclick: () => act(url, { verdict: "reject" }) }, "reject"));
    }
    box.append(card);
  }
}

function listIcon(sidc) {
  let url = state.listIcons.get(sidc);
  if (!url) {
    url = `data:image/svg+xml;base64,${btoa(new ms.Symbol(sidc, { size: 14 }).asSVG())}`;
    state.listIcons.set(sidc, url);
  }
  return url;
}

function renderTrackList(tracks) {
  const list = $("tracks");
  const confirmed = tracks.filter((t) => t.status === "confirmed");
  $("track-count").textContent = `(${confirmed.length})`;
  if (confirmed.length > TRACK_LIST_LIMIT) {
    if (!list.dataset.hidden) list.replaceChildren(element("li", {}, `list hidden above ${TRACK_LIST_LIMIT} tracks`));
    list.dataset.hidden = "true";
    return;
  }
  delete list.dataset.hidden;
  list.replaceChildren(...confirmed.map((t) => {
    const img = element("img", { src: listIcon(t.sidc), alt: t.sidc });
    return element("li", { "data-track-id": t.track_id }, img,
      `TN${t.track_number} ${t.target_class.replaceAll("_", " ")} ${Math.round(t.speed_mps * 3.6)} km/h ${Math.round(t.altitude_m)} m`);
  }));
}

async function act(url, body) {
  try {
    await api(url, { method: "POST", body: JSON.stringify(body) });
    await loadPicture();
  } catch (error) {
    window.alert(error.message);
  }
}

let replayTracks = null;

// The track source's features: all rebuilt after a reset (login, nation, replay), else only
// the changed tracks' features are replaced, then the kept collection is handed to MapLibre.
function updateTrackFeatures() {
  if (state.tracksReset) {
    state.tracksReset = false;
    state.changedTracks.clear();
    state.trackFeatures = new Map();
    for (const track of replayTracks || state.tracks.values()) {
      if (track.status === "confirmed") state.trackFeatures.set(track.track_id, trackFeature(track));
    }
    return true;
  }
  if (replayTracks || state.changedTracks.size === 0) return false;
  for (const trackId of state.changedTracks) {
    const track = state.tracks.get(trackId);
    if (track && track.status === "confirmed") state.trackFeatures.set(trackId, trackFeature(track));
    else state.trackFeatures.delete(trackId);
  }
  state.changedTracks.clear();
  return true;
}

let renderTimer = null;
let lastRenderAt = -Infinity;
let renderInterval = RENDER_INTERVAL_MS;

// Main-thread time taken by long tasks (drawing, mostly) since the last draw.
let busySinceRender = 0;
if (window.PerformanceObserver && PerformanceObserver.supportedEntryTypes?.includes("longtask")) {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) busySinceRender += entry.duration;
  }).observe({ entryTypes: ["longtask"] });
}

// Draw soon, but never more often than every RENDER_INTERVAL_MS, and never so often that
// drawing takes more than about half of the main thread: after a draw that kept it busy for
// B ms, the next one waits at least B ms (on a slow or software-rendered GPU a frame can
// cost hundreds of ms; clicks and typing still get the other half). Updates arriving
// meanwhile are merged into `state` and drawn together.
function scheduleRender() {
  if (renderTimer !== null) return;
  const wait = Math.max(0, lastRenderAt + renderInterval - performance.now());
  renderTimer = setTimeout(render, wait);
}

function render() {
  renderTimer = null;
  if (!state.mapReady) return;
  const now = performance.now();
  renderInterval = Math.min(4 * RENDER_INTERVAL_MS, Math.max(RENDER_INTERVAL_MS, busySinceRender));
  busySinceRender = 0;
  lastRenderAt = now;
  const changed = state.changedTracks.size ? [...state.changedTracks] : [];
  const reset = state.tracksReset;
  let sourceChanged = updateTrackFeatures();
  if (state.trailsDirty && (reset || replayTracks || now - state.lastTrailsAt >= TRAIL_INTERVAL_MS)) {
    state.trailsDirty = false;
    state.lastTrailsAt = now;
    state.trailFeatures = replayTracks ? [] : trailFeatures();
    sourceChanged = true;
  } else if (state.trailsDirty) {
    scheduleRender();  // trails are due later
  }
  if (sourceChanged) {
    map.getSource("tracks").setData({ type: "FeatureCollection",
      features: [...state.trailFeatures, ...state.trackFeatures.values()] });
  }
  if (now - state.lastListAt >= TRACK_LIST_INTERVAL_MS) {
    state.lastListAt = now;
    renderTrackList(replayTracks || [...state.tracks.values()]);
  } else if (changed.length) {
    scheduleRender();  // the list is due later
  }
  if (state.alertsDirty) { state.alertsDirty = false; renderAlerts(); }
  if (state.proposalsDirty) { state.proposalsDirty = false; renderProposals(); }
  if (state.clockDirty) {
    state.clockDirty = false;
    $("clock").textContent = state.clock ? state.clock.replace("T", " ").slice(0, 19) + "Z" : "";
  }
  state.renders += 1;
  if (window.hz.onRender) window.hz.onRender(changed.map((trackId) => state.tracks.get(trackId)));
}

// ---- controls ------------------------------------------------------------------------------

async function start(user) {
  state.user = user;
  $("who").textContent = `${user.display_name} · ${user.role} · ${user.nation}`;
  $("login").classList.add("hidden");
  $("abort-button").disabled = !canDecide();
  await loadPicture();
  connectStream();
  await loadStatic();
  document.body.dataset.ready = "true";
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const result = await api("/api/login", { method: "POST",
      body: JSON.stringify({ username: $("username").value, password: $("password").value }) });
    state.token = result.token;
    sessionStorage.setItem("hz-token", result.token);
    $("login-error").textContent = "";
    await start(result.user);
  } catch (error) {
    $("login-error").textContent = error.message;
  }
});

$("logout-button").onclick = async () => {
  await api("/api/logout", { method: "POST" }).catch(() => null);
  sessionStorage.removeItem("hz-token");
  location.reload();
};

$("abort-button").onclick = async () => {
  if (!window.confirm("Stop every pending order?")) return;
  await act("/api/abort", { reason: "global abort from the COP" });
};

$("view-as").onchange = async (event) => {
  state.viewAs = event.target.value;
  await loadPicture();
  connectStream();
};

$("time-slider").oninput = async (event) => {
  const fraction = Number(event.target.value) / 1000;
  if (fraction >= 1 || state.firstTime === null || !state.clock) {
    replayTracks = null;
    $("slider-time").textContent = "live";
  } else {
    const last = Date.parse(state.clock) / 1000;
    const at = state.firstTime + fraction * (last - state.firstTime);
    $("slider-time").textContent = new Date(at * 1000).toISOString().slice(11, 19) + "Z";
    replayTracks = await api(withView(`/api/tracks?at=${at}`));
  }
  markAllDirty();
};

// For tests and the benchmark: what is drawn and what has arrived; `onBatch(updates)` and
// `onRender(changedTracks)` may be set to observe the stream and the drawing.
window.hz = {
  state, map, onBatch: null, onRender: null,
  renderedTrackCount: () => new Set(map.queryRenderedFeatures({ layers: ["tracks"] }).map((f) => f.properties.track_id)).size,
};

(async () => {
  const saved = sessionStorage.getItem("hz-token");
  if (!saved) return;
  state.token = saved;
  try { await start(await api("/api/me")); } catch { sessionStorage.removeItem("hz-token"); state.token = null; }
})();
