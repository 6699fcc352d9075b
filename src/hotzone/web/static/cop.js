// The common operational picture: MapLibre (no tile server) + milsymbol APP-6D symbols. The
// page's entry module: it makes the map and its static layers (countries, borders, coverage,
// sensors, effectors, assets and their names), wires the other modules together, runs the
// draw loop, the login and the replay controls. No build step: plain ES modules.
//
// - store.js: the page's state and how stream updates change it (pure, tested under node);
// - api.js: HTTP calls; stream.js: the WebSocket, its reconnect and resume;
// - overlay.js: the track canvases over the map (symbols, leaders, labels, trails, hook);
// - panels.js: the right column's alerts (grouped, acknowledge all, P1 cue) and track list;
// - decider.js: the decision queue, the banners and signing with the operator's
//   authenticator; details.js: the hooked track's panel; view.js: the layer panel, filters,
//   legend and the URL's view state; tools.js: the map's instruments; names.js: names.
//
// Built to stay responsive at thousands of track updates per second: the WebSocket handler
// only merges each batch into the store (latest state per object) and marks what changed;
// nothing is drawn there. Drawing happens at most every RENDER_INTERVAL_MS, and only for
// what changed: trails at most every TRAIL_INTERVAL_MS, panels only when their
// alerts/proposals changed.

import { createApi } from "/static/api.js";
import { canDecide, createDecider } from "/static/decider.js";
import { createDetails } from "/static/details.js";
import { humanize } from "/static/names.js";
import { IDENTITY_COLOURS, createOverlay, mercatorX, mercatorY } from "/static/overlay.js";
import { createPanels, element } from "/static/panels.js";
import { createSites } from "/static/sites.js";
import { createTimeline } from "/static/timeline.js";
import * as store from "/static/store.js";
import { createStream } from "/static/stream.js";
import { createTools } from "/static/tools.js";
import { OVERLAYS, buildPanels, settingsFrom, writeUrl } from "/static/view.js";

const RENDER_INTERVAL_MS = 250;
const TRAIL_INTERVAL_MS = 1000;
const TRACK_LIST_INTERVAL_MS = 1000;
const STATUS_POLL_MS = 5000;

// The store's state, and the page's own: session, stream, drawing.
const state = Object.assign(store.createStore(), {
  token: null, viewAs: "", socket: null, updatesReceived: 0,
  batchesReceived: 0, lastBatchAt: 0, mapReady: false,
  lastTrailsAt: -Infinity, lastListAt: -Infinity, renders: 0, areaShown: false,
  follow: true, hookedEllipse: null, connection: "connecting", reconnects: 0,
});

const $ = (id) => document.getElementById(id);
const { api, withView, acknowledge } = createApi(state);

// ---- map -------------------------------------------------------------------------------

// No "glyphs" URL: MapLibre draws label glyphs locally (no font server, no internet).
const pageOptions = new URLSearchParams(location.search);
const settings = settingsFrom(pageOptions);
state.hooked = settings.hook;
// A shared view opens where it was; else the page opens on the scenario's region.
const viewFromUrl = settings.mapView !== null;
document.body.classList.toggle("night", settings.night);
const map = new maplibregl.Map({
  container: "map",
  pixelRatio: Number(pageOptions.get("pixel_ratio")) || window.devicePixelRatio || 1,
  style: { version: 8, sources: {}, layers: [
    { id: "background", type: "background", paint: { "background-color": "#24303d" } }] },
  center: settings.mapView ? [settings.mapView[2], settings.mapView[1]] : [23.1, 54.0],
  zoom: settings.mapView ? settings.mapView[0] : 8, attributionControl: false,
  // North-up, flat: what the track canvases assume (and how operators read a COP).
  maxPitch: 0, dragRotate: false, pitchWithRotate: false, touchPitch: false,
  // Symbols appear at once: a fade would repaint every frame for 300 ms after each update.
  fadeDuration: 0,
});
map.addControl(new maplibregl.AttributionControl({ customAttribution: "Natural Earth" }));
map.touchZoomRotate.disableRotation();
map.keyboard.disableRotation();

// Sensors, effectors and defended assets: APP-6 symbols and names, coverage, ellipses
// (sites.js).
const sites = createSites({
  isHidden: (key) => isHidden(key),
  project: (lon, lat, view) => [view.scaleX * mercatorX(lon) + view.offsetX, view.scaleY * mercatorY(lat) + view.offsetY],
});
const overlay = createOverlay({
  map, state, settings, isHidden: (key) => isHidden(key),
  drawSites: (context, view) => sites.draw(context, view),
  drawOverTracks: (context, view, tracks) => sites.drawEllipses(context, view, tracks, IDENTITY_COLOURS),
});
const { drawTrails, drawTracks, followHooked, overlayCanvas, canvasContext } = overlay;

const isHidden = (overlay) => settings.hiddenLayers.has(overlay);

const empty = () => ({ type: "FeatureCollection", features: [] });

function addArea(id, source, fill, line, opacity) {
  map.addLayer({ id: `${id}-fill`, type: "fill", source, paint: { "fill-color": fill, "fill-opacity": opacity } });
  map.addLayer({ id: `${id}-line`, type: "line", source, paint: { "line-color": line, "line-width": 1.2 } });
}

map.on("load", () => {
  for (const name of ["countries", "national-borders", "coverage", "assets", "borders", "jamming",
    "no_fire_areas", "corridors", "sensors", "effectors"]) {
    map.addSource(name, { type: "geojson", data: empty() });
  }
  map.addLayer({ id: "countries", type: "fill", source: "countries", paint: { "fill-color": "#3b4654" } });
  map.addLayer({ id: "national-borders", type: "line", source: "national-borders", paint: { "line-color": "#9aa", "line-width": 1 } });
  sites.addLayers(map);
  addArea("assets", "assets", "#48f", "#8af", 0.25);
  addArea("jamming", "jamming", "#f80", "#fa4", 0.12);
  addArea("no_fire_areas", "no_fire_areas", "#f0f", "#f6f", 0.15);
  addArea("corridors", "corridors", "#0ff", "#6ff", 0.08);
  map.addLayer({ id: "borders", type: "line", source: "borders", paint: { "line-color": "#fd4", "line-width": 2.5 } });
  state.mapReady = true;
  applyLayerVisibility();
  // Panning and zooming move the canvases with the map, frame by frame.
  map.on("move", () => { drawTrails(); drawTracks(); });
  map.on("moveend", () => { followHooked(); rememberView(); });
  map.on("resize", () => { drawTrails(); drawTracks(); });
  state.tracksReset = true;
  state.trailsDirty = true;
  scheduleRender();
  if (state.user) loadStatic();
});


// The name of a track id, when the page knows the track; an alert's or a reason's text in the
// page's words (track names, no enum names).
const nameOf = (trackId) => store.nameOf(state, trackId);
const pageText = (text, trackIds) => humanize(text, nameOf, trackIds.filter(Boolean));

// ---- hooking a track -------------------------------------------------------------------

// Hook a track: the details panel opens for it, the map marks and follows it.
function hookTrack(trackId) {
  if (!trackId) return;
  state.hooked = trackId;
  state.hookedEllipse = null;
  settings.hook = trackId;
  writeUrl(settings);
  for (const row of document.querySelectorAll("#tracks li.hooked")) row.classList.remove("hooked");
  document.querySelector(`#tracks li[data-track-id="${CSS.escape(trackId)}"]`)?.classList.add("hooked");
  details.refresh();
  const track = store.shownTrack(state, trackId);
  if (track && state.mapReady) map.easeTo({ center: [track.lon_deg, track.lat_deg], duration: 300 });
  if (state.mapReady) drawTracks();
}

function unhook() {
  state.hooked = null;
  settings.hook = null;
  writeUrl(settings);
  for (const row of document.querySelectorAll("#tracks li.hooked")) row.classList.remove("hooked");
  details.refresh();
  if (state.mapReady) drawTracks();
}

function rememberView() {
  const centre = map.getCenter();
  settings.mapView = [map.getZoom(), centre.lat, centre.lng];
  writeUrl(settings);
}

// ---- state updates -------------------------------------------------------------------------

// A batch from the stream: into the store; c2's state and outcomes to the decider; a new P1
// to the panels' cue; drawn at the next render.
function applyUpdates(updates) {
  for (const update of updates) {
    if (update.kind === "c2") decider.applyC2(update.data);
    else if (update.kind === "outcome") decider.applyOutcome(update.data);
    else if (store.applyUpdate(state, update) && update.kind === "alert" && update.data.track_id === state.hooked) details.refresh();
  }
  if (state.newUrgentAlerts.length) {
    const urgent = state.newUrgentAlerts.splice(0);
    if (!state.replay) panels.cue(urgent);
  }
  state.updatesReceived += updates.length;
  state.batchesReceived += 1;
  state.lastBatchAt = performance.now();
  if (window.hz.onBatch) window.hz.onBatch(updates);
  scheduleRender();
}

const stream = createStream({
  state, api, loadPicture: () => loadPicture(), onUpdates: applyUpdates, sessionLost: () => sessionLost(),
});

// The server refused the session: log in again, in place.
function sessionLost() {
  stream.close();
  state.token = null;
  sessionStorage.removeItem("hz-token");
  stream.setConnection("login");
  $("login-error").textContent = "session ended by the server: log in again to resume";
  $("login").classList.remove("hidden");
}

function markAllDirty() {
  store.markAllDirty(state);
  state.lastListAt = -Infinity;
  scheduleRender();
}

async function loadPicture() {
  const [tracks, alerts, proposals] = await Promise.all([
    api(withView("/api/tracks")), api(withView("/api/alerts")), api(withView("/api/proposals"))]);
  const histories = await Promise.all(tracks.filter((t) => t.status === "confirmed").map(
    (t) => api(withView(`/api/tracks/${encodeURIComponent(t.track_id)}/history`)).catch(() => null)));
  const status = await api("/api/status");
  store.setPicture(state, { tracks, alerts, proposals, histories, clock: status.clock });
  decider.setStatus(status);
  markAllDirty();
}

async function loadStatic() {
  if (!state.mapReady) return;
  const [borders, layers] = await Promise.all([api("/api/borders"), api("/api/layers")]);
  map.getSource("countries").setData({ type: "FeatureCollection", features: borders.features });
  map.getSource("national-borders").setData({ type: "FeatureCollection", features: borders.borders });
  for (const name of ["assets", "borders", "jamming", "no_fire_areas", "corridors"]) {
    if (layers[name]) map.getSource(name).setData(layers[name]);
  }
  state.effectors = new Map((layers.effectors?.features || []).map(
    (f) => [f.properties.id, f.geometry.coordinates.slice(0, 2)]));
  // Open on the scenario's region (Suwałki, the Danube delta, ...), once: later loads
  // (nation selector, a decision) leave the operator's view alone.
  const ring = layers.area?.features?.[0]?.geometry?.coordinates?.[0];
  sites.load(layers);
  map.getSource("coverage").setData(sites.coverageCollection(settings.coverageAltitude));
  state.trailsDirty = true;
  scheduleRender();
  if (ring && !state.areaShown && !viewFromUrl) {
    state.areaShown = true;
    const lons = ring.map(([lon]) => lon), lats = ring.map(([, lat]) => lat);
    map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
      { padding: 10, animate: false });
  }
}

// ---- panels --------------------------------------------------------------------------------

// Jump to a track: hook it (details panel) and bring it to the centre of the map.
function jumpToTrack(trackId) {
  hookTrack(trackId);
}

const decider = createDecider({
  state, api, element, redrawTracks: () => { if (state.mapReady) drawTracks(); }, focusTrack: overlay.focusTrack,
  scheduleRender, jump: jumpToTrack,
});

const panels = createPanels({
  state, settings, canDecide: () => canDecide(state), acknowledge, reload: () => loadPicture(),
  notice: (text, kind) => decider.notice(text, kind), hook: (trackId) => hookTrack(trackId), jump: jumpToTrack, pageText,
});

const details = createDetails({
  state, api, withView, element, nameOf, ownNation: () => store.ownNation(state), settings, unhook,
  redraw: () => { if (state.mapReady) drawTracks(); },
  jumpTo: (selector) => {
    const target = document.querySelector(selector);
    if (!target) return;
    const group = target.closest("details.alert-group");
    if (group) group.open = true;  // collapsed by the operator: opened to show the alert
    target.scrollIntoView({ block: "nearest" });
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 1500);
  },
});

const tools = createTools({ map, overlayCanvas, canvasContext, isHidden });

// A click on the map: a tool's point (rings, measuring) or the symbol under it (hook).
map.on("click", (event) => {
  if (tools.click([event.lngLat.lng, event.lngLat.lat])) return;
  const trackId = overlay.trackAt(event.point.x, event.point.y);
  if (trackId) hookTrack(trackId);
});

// A proposal card's click also hooks its track (decider.js pins and rings it).
$("proposals").addEventListener("click", (event) => {
  if (event.target.closest("button, summary")) return;
  const card = event.target.closest(".card");
  if (card?.dataset.trackId) hookTrack(card.dataset.trackId);
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.hooked && !tools.tools.mode) unhook();
});

function applyLayerVisibility() {
  if (!state.mapReady) return;
  for (const overlay of OVERLAYS) {
    for (const layer of overlay.mapLayers || []) {
      if (map.getLayer(layer)) map.setLayoutProperty(layer, "visibility", isHidden(overlay.key) ? "none" : "visible");
    }
  }
}

function legendSymbol(sidc) {
  return `data:image/svg+xml;base64,${btoa(new ms.Symbol(sidc, { size: 16 }).asSVG())}`;
}

buildPanels({
  settings, element, legendSymbol,
  changed: (what) => {
    writeUrl(settings);
    if (what === "layers") { applyLayerVisibility(); tools.draw(); }
    if (what === "display") { document.body.classList.toggle("night", settings.night); if (state.hooked) details.refresh(); }
    if (what === "display" && state.mapReady && sites.altitude !== settings.coverageAltitude) {
      map.getSource("coverage").setData(sites.coverageCollection(settings.coverageAltitude));
    }
    markAllDirty();
  },
});
for (const [button, panel] of [["layers-button", "layer-panel"], ["display-button", "display-panel"]]) {
  $(button).onclick = () => {
    const opening = $(panel).classList.contains("hidden");
    for (const other of ["layer-panel", "display-panel"]) $(other).classList.add("hidden");
    $(panel).classList.toggle("hidden", !opening);
    $(button).classList.toggle("active", opening);
  };
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
  if (overlay.updateDrawnTracks()) { drawTracks(); if (state.hooked && changed.includes(state.hooked)) followHooked(); }
  if (state.trailsDirty && (reset || state.replay || now - state.lastTrailsAt >= TRAIL_INTERVAL_MS)) {
    state.trailsDirty = false;
    state.lastTrailsAt = now;
    drawTrails();
  } else if (state.trailsDirty) {
    scheduleRender();  // trails are due later
  }
  if (now - state.lastListAt >= TRACK_LIST_INTERVAL_MS) {
    state.lastListAt = now;
    panels.renderTrackList(store.pictureTracks(state));
  } else if (changed.length) {
    scheduleRender();  // the list is due later
  }
  if (state.alertsDirty) { state.alertsDirty = false; panels.renderAlerts(); }
  if (state.proposalsDirty) {
    state.proposalsDirty = false;
    decider.renderQueue();
    drawTracks();  // engagements and the highlighted track
  }
  if (state.clockDirty) {
    state.clockDirty = false;
    const clock = store.shownClock(state);
    $("clock").textContent = clock ? clock.replace("T", " ").slice(0, 19) + "Z" + (state.replay ? " (replay)" : "") : "";
    decider.refreshCountdowns();
  }
  state.renders += 1;
  if (window.hz.onRender) window.hz.onRender(changed.map((trackId) => state.tracks.get(trackId)));
}

// ---- controls ------------------------------------------------------------------------------

async function start(user) {
  state.user = user;
  $("who").textContent = `${user.display_name} · ${user.role} · ${user.nation}`;
  $("login").classList.add("hidden");
  const resuming = state.connection === "login";
  await Promise.all([loadPicture(), decider.loadCredentials()]);
  if (resuming) state.reconnects += 1;
  stream.connect();
  stream.setConnection("open");
  await loadStatic();
  pollStatus();
  if (state.hooked) details.refresh();
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
  state.token = null;
  location.reload();
};

// c2's state (mode, abort) also comes on the stream; the poll catches what a nation view
// filtered out and a server that restarted.
let statusTimer = null;
function pollStatus() {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(async () => {
    try { decider.setStatus(await api("/api/status")); } catch { /* logged out or gone */ }
    pollStatus();
  }, STATUS_POLL_MS);
}

$("view-as").onchange = async (event) => {
  state.viewAs = event.target.value;
  await loadPicture();
  stream.connect();
};

// ---- replay ----------------------------------------------------------------------------
// The slider picks a time between the first track and the live clock; GET /api/replay
// answers the picture as it stood then (tracks with the class and identity they had, their
// trails, alerts, proposals as c2 had left them) and everything shown follows: the map,
// the track list, the alerts, the decision queue, the clock. Play advances the replayed
// time at the chosen speed; reaching the end returns to live.

const REPLAY_TICK_MS = 250;
let replayAt = null;         // the replayed POSIX time, null when live
let replayFetching = false;  // one request at a time; the latest time wins
let replayWanted = null;
let playTimer = 0;

function replayRange() {
  if (state.firstTime === null || !state.clock) return null;
  return { first: state.firstTime, last: Date.parse(state.clock) / 1000 };
}

async function showReplay(at) {
  replayWanted = at;
  if (replayFetching) return;
  replayFetching = true;
  try {
    while (replayWanted !== null) {
      const wanted = replayWanted;
      replayWanted = null;
      const picture = await api(withView(`/api/replay?at=${wanted}`));
      if (replayAt === null) break;  // back to live meanwhile
      store.setReplay(state, picture);
      markAllDirty();
    }
  } catch (error) {
    decider.notice(`replay: ${error.message}`, "error");
  } finally {
    replayFetching = false;
  }
}

function setReplayTime(at) {
  const range = replayRange();
  if (at === null || !range || at >= range.last) {
    replayAt = null;
    store.setReplay(state, null);
    replayWanted = null;
    $("time-slider").value = "1000";
    $("slider-time").textContent = "live";
    document.body.dataset.replay = "";
    stopPlaying();
    timeline.update(null);
    markAllDirty();
    return;
  }
  replayAt = Math.max(range.first, at);
  $("time-slider").value = String(Math.round((replayAt - range.first) / (range.last - range.first) * 1000));
  $("slider-time").textContent = new Date(replayAt * 1000).toISOString().slice(11, 19) + "Z";
  document.body.dataset.replay = new Date(replayAt * 1000).toISOString();
  showReplay(replayAt);
  timeline.update(replayAt);
}

const timeline = createTimeline({ api: (path) => api(withView(path)), range: replayRange, jump: setReplayTime });

function stopPlaying() {
  window.clearInterval(playTimer);
  playTimer = 0;
  $("play-button").textContent = "▶";
  $("play-button").title = "play the replay";
}

$("time-slider").oninput = (event) => {
  const range = replayRange();
  const fraction = Number(event.target.value) / 1000;
  setReplayTime(range && fraction < 1 ? range.first + fraction * (range.last - range.first) : null);
};

$("play-button").onclick = () => {
  if (playTimer) { stopPlaying(); return; }
  const range = replayRange();
  if (!range) return;
  if (replayAt === null) setReplayTime(range.first);  // from live: play from the start
  $("play-button").textContent = "❚❚";
  $("play-button").title = "pause";
  playTimer = window.setInterval(() => {
    if (replayAt === null) { stopPlaying(); return; }
    setReplayTime(replayAt + Number($("replay-speed").value) * REPLAY_TICK_MS / 1000);
  }, REPLAY_TICK_MS);
};

// For tests and the benchmark: what is drawn and what has arrived; `onBatch(updates)` and
// `onRender(changedTracks)` may be set to observe the stream and the drawing.
window.hz = {
  state, map, onBatch: null, onRender: null,
  // Distinct tracks whose symbol the last draw put inside the view.
  renderedTrackCount: () => new Set(state.visibleTrackIds).size,
  // The decider's side: sign a decision on a proposal id, "abort" or "resume" (resolves to
  // c2's answer), and what the last draw marked on the map.
  decide: (target, verdict) => decider.decide(target, verdict),
  engagements: () => state.drawnEngagements,
  highlighted: () => state.drawnHighlight,
  // The operator's side: hook a track, what the last draw marked as hooked, the leader
  // drawn for a track ([x0, y0, x1, y1] in CSS pixels), the view settings.
  hook: (trackId) => hookTrack(trackId),
  hooked: () => state.drawnHook,
  // The tracks the last draw faded as coasting (an expected update overdue).
  coasting: () => state.drawnCoasting,
  leader: (trackId) => {
    const i = state.leadersDrawn ? state.visibleTrackIds.indexOf(trackId) : -1;
    if (i < 0 || Number.isNaN(state.leaderEnds[2 * i])) return null;
    const [, x, y] = state.drawnVisible[i];
    return [x, y, state.leaderEnds[2 * i], state.leaderEnds[2 * i + 1]];
  },
  label: (trackId) => (state.tracks.has(trackId) ? overlay.trackLabel(state.tracks.get(trackId)) : null),
  // The right column: what the page cued for new P1 alerts ({alert_id, sound}).
  cues: () => state.cues,
  tools: tools.tools,
  // Sites drawn (symbol code, name, screen position), sensor coverage bands at the chosen
  // altitude, the ellipses drawn, the timeline's markers.
  sites: () => sites.drawn(),
  coverage: () => sites.coverage(),
  ellipses: () => sites.ellipses(),
  timeline: () => timeline.markers(),
  settings,
};

(async () => {
  const saved = sessionStorage.getItem("hz-token");
  if (!saved) return;
  state.token = saved;
  try { await start(await api("/api/me")); } catch { sessionStorage.removeItem("hz-token"); state.token = null; }
})();
