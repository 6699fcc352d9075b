// The common operational picture: MapLibre (no tile server) + milsymbol APP-6D symbols.
//
// Built to stay responsive at thousands of track updates per second:
// - the WebSocket handler only merges each batch into `state` (latest state per object) and
//   marks what changed; nothing is drawn there;
// - drawing happens at most every RENDER_INTERVAL_MS, and only for what changed: trails at
//   most every TRAIL_INTERVAL_MS, panels only when their alerts/proposals changed;
// - tracks and trails are drawn on two 2-D canvases laid over the map, not as MapLibre
//   layers: a MapLibre frame re-renders the whole WebGL map, and where the GPU is software
//   (headless, VMs, remote desktops) a frame with a thousand symbols cost 150-400 ms of GPU
//   work plus a read-back that blocked the page's main thread (measured in bench/cop.py with
//   a Chrome trace). Now the map renders only when it moves; a track update redraws one
//   canvas: one milsymbol bitmap per symbol code (SIDC) stamped per track, labels (track
//   number, class, speed, altitude) beside them where they do not overlap another label.
//   The map stays north-up without pitch, so screen = scale * Web Mercator + offset, taken
//   from the map at each draw.
//
// An ES module: the decision queue, the banners and signing with the operator's
// authenticator are in decider.js.

import { canDecide, createDecider } from "/static/decider.js";

const RENDER_INTERVAL_MS = 250;
const TRAIL_INTERVAL_MS = 1000;
const TRACK_LIST_INTERVAL_MS = 1000;
const TRACK_LIST_LIMIT = 200;
const TRAIL_POINTS = 60;
const STATUS_POLL_MS = 5000;
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
  // The confirmed tracks on the canvas (track id -> the state drawn) and what the last draw
  // put inside the view.
  drawn: new Map(), visibleTrackIds: [], symbolSprites: new Map(), listIcons: new Map(),
  // Effector positions by id ([lon, lat]), for the engagement lines; what the last draw
  // showed of the decider's marks.
  effectors: new Map(), drawnEngagements: [], drawnHighlight: null,
  lastTrailsAt: -Infinity, lastListAt: -Infinity, renders: 0, areaShown: false,
};

const $ = (id) => document.getElementById(id);

// A JSON fetch; an HTTP error rejects with an Error carrying `status` and the server's
// `detail` (c2's reason, for a refused decision).
async function api(path, options = {}) {
  const headers = { "content-type": "application/json" };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const detail = typeof body.detail === "string" ? body.detail
      : body.detail ? JSON.stringify(body.detail) : response.statusText;
    const error = new Error(`${response.status}: ${detail}`);
    error.status = response.status;
    error.detail = detail;
    throw error;
  }
  return response.json();
}

function withView(path) {
  if (!state.viewAs) return path;
  return path + (path.includes("?") ? "&" : "?") + `view_as=${state.viewAs}`;
}

// ---- map -------------------------------------------------------------------------------

// No "glyphs" URL: MapLibre draws label glyphs locally (no font server, no internet).
const pageOptions = new URLSearchParams(location.search);
const map = new maplibregl.Map({
  container: "map",
  pixelRatio: Number(pageOptions.get("pixel_ratio")) || window.devicePixelRatio || 1,
  style: { version: 8, sources: {}, layers: [
    { id: "background", type: "background", paint: { "background-color": "#24303d" } }] },
  center: [23.1, 54.0], zoom: 8, attributionControl: false,
  // North-up, flat: what the track canvases assume (and how operators read a COP).
  maxPitch: 0, dragRotate: false, pitchWithRotate: false, touchPitch: false,
  // Symbols appear at once: a fade would repaint every frame for 300 ms after each update.
  fadeDuration: 0,
});
map.addControl(new maplibregl.AttributionControl({ customAttribution: "Natural Earth" }));
map.touchZoomRotate.disableRotation();
map.keyboard.disableRotation();

function overlayCanvas(id) {
  const canvas = document.createElement("canvas");
  canvas.id = id;
  canvas.className = "track-overlay";
  // Above the map, below its controls; clicks go through to the map.
  map.getCanvasContainer().after(canvas);
  return canvas;
}
const trailCanvas = overlayCanvas("trail-canvas");
const trackCanvas = overlayCanvas("track-canvas");

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
  map.addLayer({ id: "coverage", type: "line", source: "coverage", paint: { "line-color": "#5a8", "line-width": 0.7, "line-dasharray": [3, 3] } });
  addArea("assets", "assets", "#48f", "#8af", 0.25);
  addArea("jamming", "jamming", "#f80", "#fa4", 0.12);
  addArea("no_fire_areas", "no_fire_areas", "#f0f", "#f6f", 0.15);
  addArea("corridors", "corridors", "#0ff", "#6ff", 0.08);
  map.addLayer({ id: "borders", type: "line", source: "borders", paint: { "line-color": "#fd4", "line-width": 2.5 } });
  map.addLayer({ id: "sensors", type: "circle", source: "sensors", paint: { "circle-radius": 4, "circle-color": "#5c8" } });
  map.addLayer({ id: "effectors", type: "circle", source: "effectors", paint: { "circle-radius": 5, "circle-color": "#c4f" } });
  state.mapReady = true;
  // Panning and zooming move the canvases with the map, frame by frame.
  map.on("move", () => { drawTrails(); drawTracks(); });
  map.on("resize", () => { drawTrails(); drawTracks(); });
  state.tracksReset = true;
  state.trailsDirty = true;
  scheduleRender();
  if (state.user) loadStatic();
});

// One bitmap per SIDC, drawn once by milsymbol, with its anchor (the symbol's centre point).
function symbolSprite(sidc) {
  let sprite = state.symbolSprites.get(sidc);
  if (!sprite) {
    const symbol = new ms.Symbol(sidc, { size: 22 });
    const size = symbol.getSize();
    const anchor = symbol.getAnchor();
    sprite = { canvas: symbol.asCanvas(window.devicePixelRatio || 1), width: size.width,
      height: size.height, anchorX: anchor.x, anchorY: anchor.y };
    state.symbolSprites.set(sidc, sprite);
  }
  return sprite;
}

// An ally's track is named ORIGIN:id by the API; its number is the origin's, so say whose.
// An alliance track (fused from several nations' tracks) shows its nations: "LT+PL AT3".
function trackNumber(track) {
  if (track.contributions?.length) return `${track.nations.join("+")} AT${track.track_number}`;
  const colon = track.track_id.indexOf(":");
  return colon > 0 ? `${track.track_id.slice(0, colon)} TN${track.track_number}` : `TN${track.track_number}`;
}

// The APP-6 label fields: track number, class, speed, altitude.
function trackLabel(track) {
  const speed = Math.round(track.speed_mps * 3.6 / 10) * 10;
  const altitude = Math.round(track.altitude_m / 50) * 50;
  return `${trackNumber(track)} ${track.target_class.replaceAll("_", " ")}\n${speed} km/h ${altitude} m`;
}

// ---- the track canvases -----------------------------------------------------------------

// Web Mercator in [0, 1] (x east, y south), as MapLibre's MercatorCoordinate.
const mercatorX = (lon) => (lon + 180) / 360;
const mercatorY = (lat) => 0.5 - Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)) / (2 * Math.PI);

// The map's current screen transform for a flat, north-up map: screen = scale * mercator +
// offset, measured from two points around the centre so it is exact at every zoom.
function screenTransform() {
  const centre = map.getCenter();
  const other = [centre.lng + 0.01, centre.lat + 0.01];
  const a = map.project(centre), b = map.project(other);
  const scaleX = (b.x - a.x) / (mercatorX(other[0]) - mercatorX(centre.lng));
  const scaleY = (b.y - a.y) / (mercatorY(other[1]) - mercatorY(centre.lat));
  return { scaleX, scaleY, offsetX: a.x - scaleX * mercatorX(centre.lng),
    offsetY: a.y - scaleY * mercatorY(centre.lat) };
}

// Size a canvas to the map (device pixels) and return its 2-D context in CSS pixels.
function canvasContext(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const mapCanvas = map.getCanvas();
  const width = mapCanvas.clientWidth, height = mapCanvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  return { context, width, height };
}

function drawTrails() {
  const { context } = canvasContext(trailCanvas);
  const view = screenTransform();
  const byColour = new Map();
  for (const track of state.drawn.values()) {
    const points = replayTracks ? null : state.trails.get(track.track_id);
    if (!points || points.length < 2) continue;
    const colour = IDENTITY_COLOURS[track.standard_identity] || "#fff";
    if (!byColour.has(colour)) byColour.set(colour, []);
    byColour.get(colour).push(points);
  }
  context.lineWidth = 1.5;
  context.globalAlpha = 0.7;
  // One path per colour: a few stroke calls however many tracks there are.
  for (const [colour, trails] of byColour) {
    context.beginPath();
    for (const points of trails) {
      points.forEach(([lon, lat], index) => {
        const x = view.scaleX * mercatorX(lon) + view.offsetX;
        const y = view.scaleY * mercatorY(lat) + view.offsetY;
        if (index === 0) context.moveTo(x, y); else context.lineTo(x, y);
      });
    }
    context.strokeStyle = colour;
    context.stroke();
  }
}

const LABEL_WIDTH = 120, LABEL_HEIGHT = 26, SCREEN_MARGIN = 40;

function drawTracks() {
  const { context, width, height } = canvasContext(trackCanvas);
  const view = screenTransform();
  const visible = [];
  for (const track of state.drawn.values()) {
    const x = view.scaleX * mercatorX(track.lon_deg) + view.offsetX;
    const y = view.scaleY * mercatorY(track.lat_deg) + view.offsetY;
    if (x < -SCREEN_MARGIN || y < -SCREEN_MARGIN || x > width + SCREEN_MARGIN || y > height + SCREEN_MARGIN) continue;
    visible.push([track, x, y, symbolSprite(track.sidc)]);
  }
  // Labels where there is room: a grid of label-sized cells, first come first labelled,
  // so a crowded picture shows its symbols and some labels rather than a smear of text.
  context.font = "10px system-ui, sans-serif";
  context.textBaseline = "middle";
  context.lineWidth = 3;
  context.lineJoin = "round";
  context.strokeStyle = "#111";
  context.fillStyle = "#eee";
  const taken = new Set();
  for (const [track, x, y, sprite] of visible) {
    const left = x + sprite.width - sprite.anchorX + 2;
    const column = Math.floor(left / LABEL_WIDTH), row = Math.floor((y - LABEL_HEIGHT / 2) / LABEL_HEIGHT);
    const cells = [`${column},${row}`, `${column + 1},${row}`, `${column},${row + 1}`, `${column + 1},${row + 1}`];
    if (cells.some((cell) => taken.has(cell))) continue;
    for (const cell of cells) taken.add(cell);
    const [first, second] = trackLabel(track).split("\n");
    for (const [line, dy] of [[first, -6], [second, 6]]) {
      context.strokeText(line, left, y + dy);
      context.fillText(line, left, y + dy);
    }
  }
  // Symbols over labels: a label may hide part of the map, never another track.
  for (const [, x, y, sprite] of visible) {
    context.drawImage(sprite.canvas, x - sprite.anchorX, y - sprite.anchorY, sprite.width, sprite.height);
  }
  state.visibleTrackIds = visible.map(([track]) => track.track_id);
  drawEngagements(context, view);
}

// The decider's marks on the track canvas: a dashed line from the effector to its target
// for every order c2 issued (the engagement), and a ring around the track the hovered or
// clicked proposal card is about.
function drawEngagements(context, view) {
  const at = (lon, lat) => [view.scaleX * mercatorX(lon) + view.offsetX, view.scaleY * mercatorY(lat) + view.offsetY];
  const engagements = [];
  for (const proposal of state.proposals.values()) {
    for (const order of proposal.orders || []) {
      const track = (replayTracks ? state.drawn.get(order.track_id) : state.tracks.get(order.track_id));
      const effector = state.effectors.get(order.effector_id);
      if (!track || !effector) continue;
      engagements.push({ order_id: order.order_id, effector_id: order.effector_id, track_id: order.track_id,
        from: at(...effector), to: at(track.lon_deg, track.lat_deg) });
    }
  }
  context.save();
  context.lineWidth = 2;
  context.setLineDash([6, 4]);
  context.strokeStyle = "#ff5050";
  for (const { from, to } of engagements) {
    context.beginPath();
    context.moveTo(...from);
    context.lineTo(...to);
    context.stroke();
  }
  context.restore();
  state.drawnEngagements = engagements.map(({ order_id, effector_id, track_id }) => ({ order_id, effector_id, track_id }));
  const highlighted = state.highlight && (replayTracks ? state.drawn.get(state.highlight) : state.tracks.get(state.highlight));
  state.drawnHighlight = null;
  if (highlighted) {
    const [x, y] = at(highlighted.lon_deg, highlighted.lat_deg);
    context.save();
    context.lineWidth = 3;
    context.strokeStyle = "#ffd400";
    context.beginPath();
    context.arc(x, y, 18, 0, 2 * Math.PI);
    context.stroke();
    context.restore();
    state.drawnHighlight = { track_id: highlighted.track_id, x, y };
  }
}

function focusTrack(trackId) {
  const track = state.tracks.get(trackId);
  if (!track) return;
  const bounds = map.getBounds();
  if (!bounds.contains([track.lon_deg, track.lat_deg])) map.easeTo({ center: [track.lon_deg, track.lat_deg], duration: 300 });
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
      for (const member of data.contributions || []) state.changedTracks.add(member);
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
    case "c2": decider.applyC2(data); break;
    case "outcome": decider.applyOutcome(data); break;
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
  decider.setStatus(status);
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
  state.effectors = new Map((layers.effectors?.features || []).map(
    (f) => [f.properties.id, f.geometry.coordinates.slice(0, 2)]));
  // Open on the scenario's region (Suwałki, the Danube delta, ...), once: later loads
  // (nation selector, a decision) leave the operator's view alone.
  const ring = layers.area?.features?.[0]?.geometry?.coordinates?.[0];
  if (ring && !state.areaShown) {
    state.areaShown = true;
    const lons = ring.map(([lon]) => lon), lats = ring.map(([, lat]) => lat);
    map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
      { padding: 10, animate: false });
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

const decider = createDecider({
  state, api, element, redrawTracks: () => { if (state.mapReady) drawTracks(); }, focusTrack, scheduleRender,
});

function renderAlerts() {
  const list = $("alerts");
  list.replaceChildren();
  const alerts = [...state.alerts.values()].sort((a, b) => a.priority - b.priority || a.time.localeCompare(b.time));
  for (const alert of alerts) {
    const item = element("li", { class: `alert p${alert.priority} ${alert.state}`, "data-alert-id": alert.alert_id },
      `P${alert.priority} ${alert.summary} `);
    if (alert.state === "open" && canDecide(state)) {
      item.append(element("button", { class: "ack", onclick: () => act(`/api/alerts/${alert.alert_id}/acknowledge`, {}) }, "acknowledge"));
    } else if (alert.state !== "open") {
      item.append(element("em", {}, alert.acknowledged_by ? `${alert.state} by ${alert.acknowledged_by}` : alert.state));
    }
    list.append(item);
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

// Drawn and listed: confirmed tracks, but not a national track an alliance track this
// viewer receives stands for (one track per object; the API says which, `fused_into`).
function shown(track) {
  return track.status === "confirmed" && state.tracks.get(track.fused_into)?.status !== "confirmed";
}

function renderTrackList(tracks) {
  const list = $("tracks");
  const confirmed = tracks.filter(shown);
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
      `${trackNumber(t)} ${t.target_class.replaceAll("_", " ")} ${Math.round(t.speed_mps * 3.6)} km/h ${Math.round(t.altitude_m)} m`);
  }));
}

async function act(url, body) {
  try {
    await api(url, { method: "POST", body: JSON.stringify(body) });
    await loadPicture();
  } catch (error) {
    decider.notice(error.message, "error");
  }
}

let replayTracks = null;

// The drawn tracks: all re-chosen after a reset (login, nation, replay), else only the
// changed tracks are replaced. Whether anything changed.
function updateDrawnTracks() {
  if (state.tracksReset) {
    state.tracksReset = false;
    state.changedTracks.clear();
    state.drawn = new Map();
    for (const track of replayTracks || state.tracks.values()) {
      if (shown(track)) state.drawn.set(track.track_id, track);
    }
    return true;
  }
  if (replayTracks || state.changedTracks.size === 0) return false;
  for (const trackId of state.changedTracks) {
    const track = state.tracks.get(trackId);
    if (track && shown(track)) state.drawn.set(trackId, track);
    else state.drawn.delete(trackId);
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
  if (updateDrawnTracks()) drawTracks();
  if (state.trailsDirty && (reset || replayTracks || now - state.lastTrailsAt >= TRAIL_INTERVAL_MS)) {
    state.trailsDirty = false;
    state.lastTrailsAt = now;
    drawTrails();
  } else if (state.trailsDirty) {
    scheduleRender();  // trails are due later
  }
  if (now - state.lastListAt >= TRACK_LIST_INTERVAL_MS) {
    state.lastListAt = now;
    renderTrackList(replayTracks || [...state.tracks.values()]);
  } else if (changed.length) {
    scheduleRender();  // the list is due later
  }
  if (state.alertsDirty) { state.alertsDirty = false; renderAlerts(); }
  if (state.proposalsDirty) {
    state.proposalsDirty = false;
    decider.renderQueue();
    drawTracks();  // engagements and the highlighted track
  }
  if (state.clockDirty) {
    state.clockDirty = false;
    $("clock").textContent = state.clock ? state.clock.replace("T", " ").slice(0, 19) + "Z" : "";
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
  await Promise.all([loadPicture(), decider.loadCredentials()]);
  connectStream();
  await loadStatic();
  pollStatus();
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
  // Distinct tracks whose symbol the last draw put inside the view.
  renderedTrackCount: () => new Set(state.visibleTrackIds).size,
  // The decider's side: sign a decision on a proposal id, "abort" or "resume" (resolves to
  // c2's answer), and what the last draw marked on the map.
  decide: (target, verdict) => decider.decide(target, verdict),
  engagements: () => state.drawnEngagements,
  highlighted: () => state.drawnHighlight,
};

(async () => {
  const saved = sessionStorage.getItem("hz-token");
  if (!saved) return;
  state.token = saved;
  try { await start(await api("/api/me")); } catch { sessionStorage.removeItem("hz-token"); state.token = null; }
})();
