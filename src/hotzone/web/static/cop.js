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
// authenticator are in decider.js; names of tracks and classes in names.js; the layer
// panel, filters, legend and the URL's view state in view.js; the map's instruments
// (zoom/north, scale, cursor in MGRS, range rings, measuring) in tools.js; the hooked
// track's panel in details.js.

import { canDecide, createDecider } from "/static/decider.js";
import { createDetails } from "/static/details.js";
import { createSites } from "/static/sites.js";
import { createTimeline } from "/static/timeline.js";
import { className, humanize, trackName } from "/static/names.js";
import { createTools } from "/static/tools.js";
import { OVERLAYS, altitudeText, buildPanels, passes, settingsFrom, speedText, writeUrl } from "/static/view.js";

const RENDER_INTERVAL_MS = 250;
const TRAIL_INTERVAL_MS = 1000;
const TRACK_LIST_INTERVAL_MS = 1000;
const TRACK_LIST_LIMIT = 200;
const TRAIL_POINTS = 60;
const STATUS_POLL_MS = 5000;
// Reconnecting a dropped stream: waits from the first to the longest, doubling.
const RECONNECT_FIRST_MS = 500;
const RECONNECT_LONGEST_MS = 5000;
// The hooked track is brought back to the centre once it leaves this inner share of the view.
const FOLLOW_MARGIN = 0.15;
// Metres of the Web Mercator x range [0, 1] at the equator.
const EARTH_CIRCUMFERENCE_M = 40075016.686;
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
  // The hooked track (details panel, marked and followed on the map), the screen positions
  // and leaders of the last draw, the stream's connection.
  hooked: null, follow: true, drawnVisible: [], leaderEnds: new Float64Array(0), leadersDrawn: false,
  drawnHook: null,
  connection: "connecting", reconnects: 0,
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

// The server's nation: whose track numbers own tracks carry.
const ownNation = () => state.status?.nation || state.user?.nation || "";

// "PL TN101" (an ally's track, named ORIGIN:id by the API, carries its origin's number);
// an alliance track (fused from several nations' tracks) shows its nations: "LT+PL AT3".
function trackNumber(track) {
  if (track.contributions?.length) return `${track.nations.join("+")} AT${track.track_number}`;
  return trackName(track, ownNation());
}

// The name of a track id, when the page knows the track.
function nameOf(trackId) {
  const track = state.tracks.get(trackId);
  return track ? trackNumber(track) : null;
}

// An alert's or a reason's text in the page's words (track names, no enum names).
const pageText = (text, trackIds) => humanize(text, nameOf, trackIds.filter(Boolean));

// The APP-6 label fields the display panel chose: track name and callsign; class; speed,
// altitude and heading.
function trackLabel(track) {
  const first = settings.callsign && track.callsign ? `${trackNumber(track)} ${track.callsign}` : trackNumber(track);
  const kinematics = [speedText(track.speed_mps, settings.speedUnit), altitudeText(track.altitude_m, settings.altitudeUnit),
    settings.heading ? `${String(Math.round(track.course_deg ?? 0) % 360).padStart(3, "0")}°` : ""].filter(Boolean).join(" ");
  return [first, settings.showClass ? className(track.target_class) : "", kinematics].filter(Boolean);
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
  sites.draw(context, view);
  if (isHidden("trails") || isHidden("tracks")) return;
  const byColour = new Map();
  for (const track of state.drawn.values()) {
    const points = replayTracks ? track.trail : state.trails.get(track.track_id);
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
  context.globalAlpha = 1;
}

// Sensors, effectors and defended assets: APP-6 symbols and names, coverage, ellipses
// (sites.js).
const sites = createSites({
  isHidden,
  project: (lon, lat, view) => [view.scaleX * mercatorX(lon) + view.offsetX, view.scaleY * mercatorY(lat) + view.offsetY],
});

const LABEL_WIDTH = 120, LABEL_LINE = 12, SCREEN_MARGIN = 40;
// Half the size of a track symbol (22 px): a shorter leader would not show beyond it.
const LEADER_HIDDEN_PX = 11;

function drawTracks() {
  const { context, width, height } = canvasContext(trackCanvas);
  const view = screenTransform();
  const visible = [];
  if (!isHidden("tracks")) {
    for (const track of state.drawn.values()) {
      const x = view.scaleX * mercatorX(track.lon_deg) + view.offsetX;
      const y = view.scaleY * mercatorY(track.lat_deg) + view.offsetY;
      if (x < -SCREEN_MARGIN || y < -SCREEN_MARGIN || x > width + SCREEN_MARGIN || y > height + SCREEN_MARGIN) continue;
      visible.push([track, x, y, symbolSprite(track.sidc)]);
    }
  }
  // Velocity leaders: where each track will be in N seconds, one path per identity colour.
  // Their ends go to a reused buffer (x, y per visible track; NaN: none): a thousand tracks
  // drawn four times a second must not leave a thousand small arrays to collect each time.
  if (state.leaderEnds.length < 2 * visible.length) state.leaderEnds = new Float64Array(4 * visible.length);
  const ends = state.leaderEnds;
  ends.fill(NaN, 0, 2 * visible.length);
  state.leadersDrawn = false;
  if (settings.leaderSeconds > 0 && !isHidden("leaders")) {
    const colours = new Set();
    for (let i = 0; i < visible.length; i += 1) {
      const [track, x, y] = visible[i];
      if (!(track.speed_mps > 0.5)) continue;
      // Web Mercator's scale is the same north and east: 1 m is 1 / (C cos lat) of its x range.
      const metres = track.speed_mps * settings.leaderSeconds;
      const course = (track.course_deg || 0) * Math.PI / 180;
      const perMetre = 1 / (EARTH_CIRCUMFERENCE_M * Math.cos(track.lat_deg * Math.PI / 180));
      const dx = view.scaleX * metres * Math.sin(course) * perMetre;
      const dy = -view.scaleY * metres * Math.cos(course) * perMetre;
      // A leader shorter than the symbol's half-size would be hidden under it: not stroked.
      if (dx * dx + dy * dy < LEADER_HIDDEN_PX * LEADER_HIDDEN_PX) continue;
      ends[2 * i] = x + dx;
      ends[2 * i + 1] = y + dy;
      colours.add(track.standard_identity);
    }
    context.lineWidth = 1.5;
    for (const identity of colours) {
      context.beginPath();
      for (let i = 0; i < visible.length; i += 1) {
        const [track, x, y] = visible[i];
        if (track.standard_identity !== identity || Number.isNaN(ends[2 * i])) continue;
        context.moveTo(x, y);
        context.lineTo(ends[2 * i], ends[2 * i + 1]);
      }
      context.strokeStyle = IDENTITY_COLOURS[identity] || "#fff";
      context.stroke();
    }
    state.leadersDrawn = true;
  }
  // Labels where there is room: a grid of label-sized cells, first come first labelled,
  // so a crowded picture shows its symbols and some labels rather than a smear of text.
  if (!isHidden("labels")) {
    context.font = "10px system-ui, sans-serif";
    context.textBaseline = "middle";
    context.lineWidth = 3;
    context.lineJoin = "round";
    context.strokeStyle = "#111";
    context.fillStyle = "#eee";
    const taken = new Set();
    const lineCount = 1 + (settings.showClass ? 1 : 0)
      + (settings.speedUnit !== "off" || settings.altitudeUnit !== "off" || settings.heading ? 1 : 0);
    const cellHeight = LABEL_LINE * lineCount + 2;
    for (const [track, x, y, sprite] of visible) {
      const left = x + sprite.width - sprite.anchorX + 2;
      const column = Math.floor(left / LABEL_WIDTH), row = Math.floor((y - cellHeight / 2) / cellHeight);
      const cells = [`${column},${row}`, `${column + 1},${row}`, `${column},${row + 1}`, `${column + 1},${row + 1}`];
      if (cells.some((cell) => taken.has(cell))) continue;
      for (const cell of cells) taken.add(cell);
      const lines = trackLabel(track);
      const top = y - (lines.length - 1) * LABEL_LINE / 2;
      lines.forEach((line, index) => {
        context.strokeText(line, left, top + index * LABEL_LINE);
        context.fillText(line, left, top + index * LABEL_LINE);
      });
    }
  }
  // Symbols over labels: a label may hide part of the map, never another track.
  for (const [, x, y, sprite] of visible) {
    context.drawImage(sprite.canvas, x - sprite.anchorX, y - sprite.anchorY, sprite.width, sprite.height);
  }
  state.visibleTrackIds = visible.map(([track]) => track.track_id);
  state.drawnVisible = visible;
  sites.drawEllipses(context, view, visible.map(([track]) => track), IDENTITY_COLOURS);
  drawEngagements(context, view);
  drawHook(context, view);
}

// The hooked track: corner brackets around its symbol and its 95 % position ellipse.
function drawHook(context, view) {
  state.drawnHook = null;
  const track = state.hooked && (replayTracks ? state.drawn.get(state.hooked) : state.tracks.get(state.hooked));
  if (!track || isHidden("tracks")) return;
  const x = view.scaleX * mercatorX(track.lon_deg) + view.offsetX;
  const y = view.scaleY * mercatorY(track.lat_deg) + view.offsetY;
  context.save();
  context.strokeStyle = "#00e5ff";
  context.lineWidth = 2.5;
  const r = 17, c = 7;
  context.beginPath();
  for (const [sx, sy] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
    context.moveTo(x + sx * r, y + sy * (r - c));
    context.lineTo(x + sx * r, y + sy * r);
    context.lineTo(x + sx * (r - c), y + sy * r);
  }
  context.stroke();
  const ellipse = state.hookedEllipse;
  if (ellipse && ellipse.track_id === track.track_id) {
    const pixelsPerMetre = view.scaleX / (EARTH_CIRCUMFERENCE_M * Math.cos(track.lat_deg * Math.PI / 180));
    context.lineWidth = 1.5;
    context.setLineDash([3, 3]);
    context.beginPath();
    context.ellipse(x, y, Math.max(1, ellipse.semi_major_m * pixelsPerMetre), Math.max(1, ellipse.semi_minor_m * pixelsPerMetre),
      (ellipse.bearing_deg - 90) * Math.PI / 180, 0, 2 * Math.PI);
    context.stroke();
  }
  context.restore();
  state.drawnHook = { track_id: track.track_id, x, y };
}

// The decider's marks on the track canvas: a dashed line from the effector to its target
// for every order c2 issued (the engagement), and a ring around the track the hovered or
// clicked proposal card is about.
function drawEngagements(context, view) {
  const at = (lon, lat) => [view.scaleX * mercatorX(lon) + view.offsetX, view.scaleY * mercatorY(lat) + view.offsetY];
  const engagements = [];
  for (const proposal of isHidden("engagements") ? [] : state.proposals.values()) {
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
  const track = state.tracks.get(trackId);
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

// Keep the hooked track in view: back to the centre once it nears the edge.
function followHooked() {
  if (!state.hooked || !state.follow || !state.mapReady) return;
  const track = replayTracks ? state.drawn.get(state.hooked) : state.tracks.get(state.hooked);
  if (!track) return;
  const { x, y } = map.project([track.lon_deg, track.lat_deg]);
  const canvas = map.getCanvas();
  const width = canvas.clientWidth, height = canvas.clientHeight;
  const inside = x > width * FOLLOW_MARGIN && x < width * (1 - FOLLOW_MARGIN)
    && y > height * FOLLOW_MARGIN && y < height * (1 - FOLLOW_MARGIN);
  if (!inside && !map.isMoving()) map.easeTo({ center: [track.lon_deg, track.lat_deg], duration: 300 });
}

// The symbol under a click: the nearest drawn track within 16 px.
function trackAt(x, y) {
  let best = null, bestDistance = 16 * 16;
  for (const [track, tx, ty] of state.drawnVisible) {
    const distance = (tx - x) ** 2 + (ty - y) ** 2;
    if (distance <= bestDistance) { best = track.track_id; bestDistance = distance; }
  }
  return best;
}

function rememberView() {
  const centre = map.getCenter();
  settings.mapView = [map.getZoom(), centre.lat, centre.lng];
  writeUrl(settings);
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
    case "alert": state.alerts.set(data.alert_id, data); state.alertsDirty = true; if (data.track_id === state.hooked) details.refresh(); break;
    case "proposal": state.proposals.set(data.proposal_id, data); state.proposalsDirty = true; break;
    case "c2": decider.applyC2(data); break;
    case "outcome": decider.applyOutcome(data); break;
    default: break;
  }
}

// The stream, kept up: a dropped socket (server restart, network) shows a banner and is
// reopened with growing waits; once it is open again the page resumes by fetching the
// picture as it is now (what it missed) and then applies the stream's updates. A server
// that no longer knows the session (it restarted) asks for a login, in place: the map, the
// filters and the hooked track stay; nothing is reloaded.
let reconnectTimer = 0;
function connectStream() {
  window.clearTimeout(reconnectTimer);
  if (state.socket) { const old = state.socket; state.socket = null; old.close(); }
  if (!state.token) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = `acks=true&token=${encodeURIComponent(state.token)}` + (state.viewAs ? `&view_as=${state.viewAs}` : "");
  const socket = new WebSocket(`${scheme}://${location.host}/api/stream?${query}`);
  const resuming = state.connection === "lost";
  socket.onopen = async () => {
    if (socket !== state.socket) return;
    if (resuming) {
      try {
        await loadPicture();
        state.reconnects += 1;
      } catch (error) {
        if (error.status === 401) { sessionLost(); return; }
      }
    }
    setConnection("open");
  };
  socket.onclose = (event) => {
    if (socket !== state.socket) return;  // replaced on purpose (nation selector, logout)
    state.socket = null;
    if (event.code === 4401) { sessionLost(); return; }
    setConnection("lost");
    const wait = Math.min(RECONNECT_LONGEST_MS, RECONNECT_FIRST_MS * 2 ** Math.min(state.reconnectAttempt || 0, 4));
    state.reconnectAttempt = (state.reconnectAttempt || 0) + 1;
    reconnectTimer = window.setTimeout(probeAndReconnect, wait);
  };
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

// Whether the server answers, and knows this session, before reopening the stream.
async function probeAndReconnect() {
  try {
    await api("/api/me");
  } catch (error) {
    if (error.status === 401) { sessionLost(); return; }
    setConnection("lost");
    reconnectTimer = window.setTimeout(probeAndReconnect,
      Math.min(RECONNECT_LONGEST_MS, RECONNECT_FIRST_MS * 2 ** Math.min(state.reconnectAttempt++ || 0, 4)));
    return;
  }
  connectStream();
}

function setConnection(connection) {
  state.connection = connection;
  if (connection === "open") state.reconnectAttempt = 0;
  const banner = $("connection-banner");
  banner.dataset.state = connection;
  if (connection === "lost") {
    banner.textContent = `connection to the server lost: the picture is frozen at ${(state.clock || "").replace("T", " ").slice(0, 19)}Z; reconnecting (attempt ${(state.reconnectAttempt || 0) + 1})…`;
  } else if (connection === "login") {
    banner.textContent = "the server no longer knows this session (it restarted?): log in again to resume; the picture shown is frozen";
  }
  banner.classList.toggle("hidden", connection === "open" || connection === "connecting");
  document.body.dataset.connection = connection;
}

// The server refused the session: log in again, in place.
function sessionLost() {
  if (state.socket) { const old = state.socket; state.socket = null; old.close(); }
  state.token = null;
  sessionStorage.removeItem("hz-token");
  setConnection("login");
  $("login-error").textContent = "session ended by the server: log in again to resume";
  $("login").classList.remove("hidden");
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

const details = createDetails({
  state, api, withView, element, nameOf, ownNation, settings, unhook,
  redraw: () => { if (state.mapReady) drawTracks(); },
  jumpTo: (selector) => {
    const target = document.querySelector(selector);
    if (!target) return;
    target.scrollIntoView({ block: "nearest" });
    target.classList.add("flash");
    setTimeout(() => target.classList.remove("flash"), 1500);
  },
});

const tools = createTools({ map, overlayCanvas, canvasContext, isHidden });

// A click on the map: a tool's point (rings, measuring) or the symbol under it (hook).
map.on("click", (event) => {
  if (tools.click([event.lngLat.lng, event.lngLat.lat])) return;
  const trackId = trackAt(event.point.x, event.point.y);
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

function renderAlerts() {
  const list = $("alerts");
  list.replaceChildren();
  const alerts = [...(state.replay?.alerts || state.alerts).values()].sort((a, b) => a.priority - b.priority || a.time.localeCompare(b.time));
  for (const alert of alerts) {
    const item = element("li", { class: `alert p${alert.priority} ${alert.state}`, "data-alert-id": alert.alert_id,
      "data-track-id": alert.track_id || "" }, `P${alert.priority} ${pageText(alert.summary, [alert.track_id])} `);
    if (alert.track_id) {
      item.title = "click: hook the track";
      item.addEventListener("click", (event) => { if (!event.target.closest("button")) hookTrack(alert.track_id); });
    }
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
// A track the page draws and lists: it passes the operator's filters, and no alliance
// track the viewer receives stands for it (that one is drawn instead).
function shown(track) {
  return passes(settings, track) && state.tracks.get(track.fused_into)?.status !== "confirmed";
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
    const row = element("li", { "data-track-id": t.track_id, class: t.track_id === state.hooked ? "hookable hooked" : "hookable",
      onclick: () => hookTrack(t.track_id) }, img,
      `${trackNumber(t)}${t.callsign ? ` ${t.callsign}` : ""} ${className(t.target_class)} ${speedText(t.speed_mps, settings.speedUnit === "off" ? "km/h" : settings.speedUnit)} ${altitudeText(t.altitude_m, settings.altitudeUnit === "off" ? "m" : settings.altitudeUnit)}`);
    return row;
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
  if (updateDrawnTracks()) { drawTracks(); if (state.hooked && changed.includes(state.hooked)) followHooked(); }
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
    const clock = state.replay?.clock || state.clock;
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
  connectStream();
  setConnection("open");
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
  connectStream();
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
      replayTracks = picture.tracks;
      state.replay = {
        clock: picture.clock,
        alerts: new Map(picture.alerts.map((a) => [a.alert_id, a])),
        proposals: new Map(picture.proposals.map((p) => [p.proposal_id, p])),
      };
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
    replayTracks = null;
    state.replay = null;
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
  leader: (trackId) => {
    const i = state.leadersDrawn ? state.visibleTrackIds.indexOf(trackId) : -1;
    if (i < 0 || Number.isNaN(state.leaderEnds[2 * i])) return null;
    const [, x, y] = state.drawnVisible[i];
    return [x, y, state.leaderEnds[2 * i], state.leaderEnds[2 * i + 1]];
  },
  label: (trackId) => (state.tracks.has(trackId) ? trackLabel(state.tracks.get(trackId)) : null),
  tools: tools.tools,
  settings,
  // Sites drawn (symbol code, name, screen position), sensor coverage bands at the chosen
  // altitude, the ellipses drawn, the timeline's markers.
  sites: () => sites.drawn(),
  coverage: () => sites.coverage(),
  ellipses: () => sites.ellipses(),
  timeline: () => timeline.markers(),
};

(async () => {
  const saved = sessionStorage.getItem("hz-token");
  if (!saved) return;
  state.token = saved;
  try { await start(await api("/api/me")); } catch { sessionStorage.removeItem("hz-token"); state.token = null; }
})();
