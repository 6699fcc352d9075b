// The common operational picture: MapLibre (no tile server) + milsymbol APP-6D symbols.
// Updates arrive in batches over the WebSocket; they are merged into `state` and drawn at
// most every RENDER_INTERVAL_MS, so the page stays responsive at thousands of updates/s.
"use strict";

const RENDER_INTERVAL_MS = 250;
const TRAIL_POINTS = 60;
const IDENTITY_COLOURS = {
  pending: "rgb(255,255,128)", unknown: "rgb(255,255,128)", assumed_friend: "rgb(128,224,255)",
  friend: "rgb(128,224,255)", neutral: "rgb(170,255,170)", suspect: "rgb(255,128,128)",
  hostile: "rgb(255,128,128)",
};

const state = {
  user: null, token: null, viewAs: "", socket: null,
  tracks: new Map(), trails: new Map(), alerts: new Map(), proposals: new Map(),
  clock: null, firstTime: null, replayAt: null, dirty: true, updatesReceived: 0,
  batchesReceived: 0, lastBatchAt: 0, symbolImages: new Set(), mapReady: false,
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

const map = new maplibregl.Map({
  container: "map",
  style: { version: 8, sources: {}, layers: [
    { id: "background", type: "background", paint: { "background-color": "#24303d" } }] },
  center: [23.1, 54.0], zoom: 8, attributionControl: false,
});
map.addControl(new maplibregl.AttributionControl({ customAttribution: "Natural Earth" }));

const empty = () => ({ type: "FeatureCollection", features: [] });

function addArea(id, source, fill, line, opacity) {
  map.addLayer({ id: `${id}-fill`, type: "fill", source, paint: { "fill-color": fill, "fill-opacity": opacity } });
  map.addLayer({ id: `${id}-line`, type: "line", source, paint: { "line-color": line, "line-width": 1.2 } });
}

map.on("load", () => {
  for (const name of ["countries", "national-borders", "coverage", "assets", "borders", "jamming",
    "no_fire_areas", "corridors", "sensors", "effectors", "trails", "tracks"]) {
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
  map.addLayer({ id: "trails", type: "line", source: "trails", paint: { "line-color": ["get", "colour"], "line-width": 1.5, "line-opacity": 0.7 } });
  map.addLayer({ id: "tracks", type: "symbol", source: "tracks", layout: {
    "icon-image": ["get", "icon"], "icon-allow-overlap": true, "icon-ignore-placement": true } });
  state.mapReady = true;
  state.dirty = true;
  if (state.user) loadStatic();
});

// milsymbol draws the APP-6D symbol with its label fields; each distinct symbol+label is
// one image in the map's sprite, made once.
function trackLabel(track) {
  return {
    uniqueDesignation: `TN${track.track_number}`,
    type: track.target_class.replaceAll("_", " "),
    speed: `${Math.round(track.speed_mps * 3.6 / 10) * 10} km/h`,
    altitudeDepth: `${Math.round(track.altitude_m / 50) * 50} m`,
  };
}

function symbolImage(track) {
  const label = trackLabel(track);
  const key = `${track.sidc}|${label.uniqueDesignation}|${label.type}|${label.speed}|${label.altitudeDepth}`;
  if (!state.symbolImages.has(key)) {
    const symbol = new ms.Symbol(track.sidc, { size: 22, ...label, infoColor: "#eee" });
    const canvas = symbol.asCanvas(window.devicePixelRatio || 1);
    const context = canvas.getContext("2d");
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    if (!map.hasImage(key)) map.addImage(key, image, { pixelRatio: window.devicePixelRatio || 1 });
    state.symbolImages.add(key);
  }
  return key;
}

function trackFeatures(tracks) {
  return tracks.filter((t) => t.status === "confirmed").map((t) => ({
    type: "Feature", id: t.track_number,
    properties: { track_id: t.track_id, icon: symbolImage(t) },
    geometry: { type: "Point", coordinates: [t.lon_deg, t.lat_deg] },
  }));
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
      state.tracks.set(data.track_id, data);
      const trail = state.trails.get(data.track_id) || [];
      const last = trail[trail.length - 1];
      if (!last || last[0] !== data.lon_deg || last[1] !== data.lat_deg) trail.push([data.lon_deg, data.lat_deg]);
      if (trail.length > TRAIL_POINTS) trail.splice(0, trail.length - TRAIL_POINTS);
      state.trails.set(data.track_id, trail);
      const time = Date.parse(data.time) / 1000;
      if (state.firstTime === null || time < state.firstTime) state.firstTime = time;
      break;
    }
    case "alert": state.alerts.set(data.alert_id, data); break;
    case "proposal": state.proposals.set(data.proposal_id, data); break;
    case "abort": $("abort-button").textContent = `ABORTED by ${data.by}`; break;
    default: break;
  }
}

function connectStream() {
  if (state.socket) state.socket.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = `token=${encodeURIComponent(state.token)}` + (state.viewAs ? `&view_as=${state.viewAs}` : "");
  const socket = new WebSocket(`${scheme}://${location.host}/api/stream?${query}`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.clock) state.clock = message.clock;
    if (message.type !== "batch") return;
    for (const update of message.updates) applyUpdate(update);
    state.updatesReceived += message.updates.length;
    state.batchesReceived += 1;
    state.lastBatchAt = performance.now();
    state.dirty = true;
  };
  state.socket = socket;
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
  state.dirty = true;
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

function renderTrackList(tracks) {
  const list = $("tracks");
  const confirmed = tracks.filter((t) => t.status === "confirmed");
  $("track-count").textContent = `(${confirmed.length})`;
  if (confirmed.length > 200) { list.replaceChildren(element("li", {}, "list hidden above 200 tracks")); return; }
  list.replaceChildren(...confirmed.map((t) => {
    const icon = new ms.Symbol(t.sidc, { size: 14 }).asSVG();
    const img = element("img", { src: `data:image/svg+xml;base64,${btoa(icon)}`, alt: t.sidc });
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

function render() {
  if (!state.dirty || !state.mapReady) return;
  state.dirty = false;
  const tracks = replayTracks || [...state.tracks.values()];
  map.getSource("tracks").setData({ type: "FeatureCollection", features: trackFeatures(tracks) });
  map.getSource("trails").setData({ type: "FeatureCollection", features: replayTracks ? [] : trailFeatures() });
  renderTrackList(tracks);
  renderAlerts();
  renderProposals();
  $("clock").textContent = state.clock ? state.clock.replace("T", " ").slice(0, 19) + "Z" : "";
}

setInterval(render, RENDER_INTERVAL_MS);

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
  state.dirty = true;
};

// For tests and the benchmark: what is drawn and what has arrived.
window.hz = {
  state,
  renderedTrackCount: () => new Set(map.queryRenderedFeatures({ layers: ["tracks"] }).map((f) => f.properties.track_id)).size,
};

(async () => {
  const saved = sessionStorage.getItem("hz-token");
  if (!saved) return;
  state.token = saved;
  try { await start(await api("/api/me")); } catch { sessionStorage.removeItem("hz-token"); state.token = null; }
})();
