// @ts-check
// The track canvases over the map: trails, symbols, velocity leaders, labels, the hooked
// track's brackets and ellipse, the decider's engagements and highlighted target.
//
// Built to stay responsive at thousands of track updates per second: tracks and trails are
// drawn on two 2-D canvases laid over the map, not as MapLibre layers: a MapLibre frame
// re-renders the whole WebGL map, and where the GPU is software (headless, VMs, remote
// desktops) a frame with a thousand symbols cost 150-400 ms of GPU work plus a read-back that
// blocked the page's main thread (measured in bench/cop.py with a Chrome trace). Now the map
// renders only when it moves; a track update redraws one canvas: one milsymbol bitmap per
// symbol code (SIDC) stamped per track, labels (track number, class, speed, altitude) beside
// them where they do not overlap another label. The map stays north-up without pitch, so
// screen = scale * Web Mercator + offset, taken from the map at each draw.

import { className } from "./names.js";
import { isShown, pictureTracks, trackNumber } from "./store.js";
import { altitudeText, speedText } from "./view.js";

// Metres of the Web Mercator x range [0, 1] at the equator.
const EARTH_CIRCUMFERENCE_M = 40075016.686;
// The hooked track is brought back to the centre once it leaves this inner share of the view.
const FOLLOW_MARGIN = 0.15;
export const IDENTITY_COLOURS = /** @type {Record<string, string>} */ ({
  pending: "rgb(255,255,128)", unknown: "rgb(255,255,128)", assumed_friend: "rgb(128,224,255)",
  friend: "rgb(128,224,255)", neutral: "rgb(170,255,170)", suspect: "rgb(255,128,128)",
  hostile: "rgb(255,128,128)",
});
const LABEL_WIDTH = 120, LABEL_LINE = 12, SCREEN_MARGIN = 40;
// Half the size of a track symbol (22 px): a shorter leader would not show beyond it.
const LEADER_HIDDEN_PX = 11;
// How opaque a coasting track's symbol is drawn (below).
const COASTING_ALPHA = 0.45;

/**
 * Whether a track is coasting: an update its sensors were expected to give is overdue (its
 * quality, 1 / revisits overdue, is below 1), so where it is drawn is a prediction no sensor
 * has just confirmed. Not in a replayed picture, whose tracks carry their latest quality.
 * @param {import("./store.js").Track} track
 */
export const isCoasting = (track) => typeof track.quality === "number" && track.quality < 1;

// Web Mercator in [0, 1] (x east, y south), as MapLibre's MercatorCoordinate.
export const mercatorX = (/** @type {number} */ lon) => (lon + 180) / 360;
export const mercatorY = (/** @type {number} */ lat) => 0.5 - Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)) / (2 * Math.PI);

/** @typedef {{scaleX: number, scaleY: number, offsetX: number, offsetY: number}} ScreenTransform */

/**
 * What the overlay needs of the page.
 * @typedef {{
 *   map: any,
 *   state: import("./store.js").Store,
 *   settings: import("./view.js").Settings,
 *   isHidden: (overlay: string) => boolean,
 *   drawSites: (context: CanvasRenderingContext2D, view: ScreenTransform) => void,
 *   drawOverTracks: (context: CanvasRenderingContext2D, view: ScreenTransform, tracks: any[]) => void,
 * }} OverlayPage
 */

/** @param {OverlayPage} page */
export function createOverlay(page) {
  const { map, state, settings, isHidden } = page;
  const ms = /** @type {any} */ (window).ms;
  state.drawn = new Map();           // the tracks drawn (track id -> the state drawn)
  state.visibleTrackIds = [];        // what the last draw put inside the view
  state.drawnVisible = [];           // [track, x, y, sprite] of the last draw
  state.drawnCoasting = [];          // the ids of those drawn faded (coasting)
  state.symbolSprites = new Map();
  state.leaderEnds = new Float64Array(0);
  state.leadersDrawn = false;
  state.drawnEngagements = [];
  state.drawnHighlight = null;
  state.drawnHook = null;
  state.effectors = new Map();       // effector id -> [lon, lat], for the engagement lines

  // Symbols and labels grow with the page's root font size (13 px up to 1920 px wide, 26 px
  // on a 4K wall): a wall display is read from across the room. Measured when the map
  // resizes, not at each draw.
  let scale = 1;
  function measureScale() {
    const root = parseFloat(getComputedStyle(document.documentElement).fontSize) || 13;
    const next = Math.max(1, root / 13);
    if (next !== scale) { scale = next; state.symbolSprites.clear(); }
  }
  measureScale();
  map.on("resize", measureScale);

  /** A track as drawn now (the replayed time's) or, live, its latest state. */
  const drawnTrack = (/** @type {string | null} */ trackId) =>
    trackId ? (state.replay ? state.drawn.get(trackId) : state.tracks.get(trackId)) : undefined;

  /** A canvas over the map, below its controls; clicks go through to the map. */
  function overlayCanvas(/** @type {string} */ id) {
    const canvas = document.createElement("canvas");
    canvas.id = id;
    canvas.className = "track-overlay";
    map.getCanvasContainer().after(canvas);
    return canvas;
  }
  const trailCanvas = overlayCanvas("trail-canvas");
  const trackCanvas = overlayCanvas("track-canvas");

  // One bitmap per SIDC, drawn once by milsymbol, with its anchor (the symbol's centre point).
  function symbolSprite(/** @type {string} */ sidc) {
    let sprite = state.symbolSprites.get(sidc);
    if (!sprite) {
      const symbol = new ms.Symbol(sidc, { size: 22 * scale });
      const size = symbol.getSize();
      const anchor = symbol.getAnchor();
      sprite = { canvas: symbol.asCanvas(window.devicePixelRatio || 1), width: size.width,
        height: size.height, anchorX: anchor.x, anchorY: anchor.y };
      state.symbolSprites.set(sidc, sprite);
    }
    return sprite;
  }

  /**
   * The APP-6 label fields the display panel chose: track name and callsign; class; speed,
   * altitude and heading.
   * @param {import("./store.js").Track} track
   */
  function trackLabel(track) {
    const name = trackNumber(state, track);
    const first = settings.callsign && track.callsign ? `${name} ${track.callsign}` : name;
    const kinematics = [speedText(track.speed_mps ?? 0, settings.speedUnit), altitudeText(track.altitude_m ?? 0, settings.altitudeUnit),
      settings.heading ? `${String(Math.round(track.course_deg ?? 0) % 360).padStart(3, "0")}°` : ""].filter(Boolean).join(" ");
    return [first, settings.showClass ? className(track.target_class) : "", kinematics].filter(Boolean);
  }

  /**
   * The map's current screen transform for a flat, north-up map: screen = scale * mercator +
   * offset, measured from two points around the centre so it is exact at every zoom.
   * @returns {ScreenTransform}
   */
  function screenTransform() {
    const centre = map.getCenter();
    const other = [centre.lng + 0.01, centre.lat + 0.01];
    const a = map.project(centre), b = map.project(other);
    const scaleX = (b.x - a.x) / (mercatorX(other[0]) - mercatorX(centre.lng));
    const scaleY = (b.y - a.y) / (mercatorY(other[1]) - mercatorY(centre.lat));
    return { scaleX, scaleY, offsetX: a.x - scaleX * mercatorX(centre.lng),
      offsetY: a.y - scaleY * mercatorY(centre.lat) };
  }

  /** Size a canvas to the map (device pixels) and return its 2-D context in CSS pixels. */
  function canvasContext(/** @type {HTMLCanvasElement} */ canvas) {
    const ratio = window.devicePixelRatio || 1;
    const mapCanvas = map.getCanvas();
    const width = mapCanvas.clientWidth, height = mapCanvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    return { context, width, height };
  }

  function drawTrails() {
    const { context } = canvasContext(trailCanvas);
    const view = screenTransform();
    // Sensors, effectors and assets under the trails (their names follow the "names" layer).
    page.drawSites(context, view);
    if (isHidden("trails") || isHidden("tracks")) return;
    const byColour = new Map();
    for (const track of state.drawn.values()) {
      const points = state.replay ? track.trail : state.trails.get(track.track_id);
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
        if (dx * dx + dy * dy < (LEADER_HIDDEN_PX * scale) ** 2) continue;
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
      context.font = `${10 * scale}px system-ui, sans-serif`;
      const labelLine = LABEL_LINE * scale, labelWidth = LABEL_WIDTH * scale;
      context.textBaseline = "middle";
      context.lineWidth = 3;
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      context.fillStyle = "#eee";
      const taken = new Set();
      const lineCount = 1 + (settings.showClass ? 1 : 0)
        + (settings.speedUnit !== "off" || settings.altitudeUnit !== "off" || settings.heading ? 1 : 0);
      const cellHeight = labelLine * lineCount + 2;
      for (const [track, x, y, sprite] of visible) {
        const left = x + sprite.width - sprite.anchorX + 2;
        const column = Math.floor(left / labelWidth), row = Math.floor((y - cellHeight / 2) / cellHeight);
        const cells = [`${column},${row}`, `${column + 1},${row}`, `${column},${row + 1}`, `${column + 1},${row + 1}`];
        if (cells.some((cell) => taken.has(cell))) continue;
        for (const cell of cells) taken.add(cell);
        const lines = trackLabel(track);
        const top = y - (lines.length - 1) * labelLine / 2;
        lines.forEach((line, index) => {
          context.strokeText(line, left, top + index * labelLine);
          context.fillText(line, left, top + index * labelLine);
        });
      }
    }
    // Symbols over labels: a label may hide part of the map, never another track. A
    // coasting track's symbol is faded: the operator sees at a glance which positions no
    // sensor has just confirmed.
    const coasting = [];
    for (const [track, x, y, sprite] of visible) {
      const faded = !state.replay && isCoasting(track);
      if (faded) coasting.push(track.track_id);
      context.globalAlpha = faded ? COASTING_ALPHA : 1;
      context.drawImage(sprite.canvas, x - sprite.anchorX, y - sprite.anchorY, sprite.width, sprite.height);
    }
    context.globalAlpha = 1;
    state.drawnCoasting = coasting;
    state.visibleTrackIds = visible.map(([track]) => track.track_id);
    state.drawnVisible = visible;
    page.drawOverTracks(context, view, visible.map(([track]) => track));
    drawEngagements(context, view);
    drawHook(context, view);
  }

  // The hooked track: corner brackets around its symbol and its 95 % position ellipse.
  function drawHook(context, view) {
    state.drawnHook = null;
    const track = drawnTrack(state.hooked);
    if (!track || isHidden("tracks")) return;
    const x = view.scaleX * mercatorX(track.lon_deg) + view.offsetX;
    const y = view.scaleY * mercatorY(track.lat_deg) + view.offsetY;
    context.save();
    context.strokeStyle = "#00e5ff";
    context.lineWidth = 2.5;
    const r = 17 * scale, c = 7 * scale;
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
        const track = drawnTrack(order.track_id);
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
    const highlighted = drawnTrack(state.highlight);
    state.drawnHighlight = null;
    if (highlighted) {
      const [x, y] = at(highlighted.lon_deg, highlighted.lat_deg);
      context.save();
      context.lineWidth = 3;
      context.strokeStyle = "#ffd400";
      context.beginPath();
      context.arc(x, y, 18 * scale, 0, 2 * Math.PI);
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

  // Keep the hooked track in view: back to the centre once it nears the edge.
  function followHooked() {
    if (!state.hooked || !state.follow || !state.mapReady) return;
    const track = drawnTrack(state.hooked);
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
    let best = null, bestDistance = (16 * scale) ** 2;
    for (const [track, tx, ty] of state.drawnVisible) {
      const distance = (tx - x) ** 2 + (ty - y) ** 2;
      if (distance <= bestDistance) { best = track.track_id; bestDistance = distance; }
    }
    return best;
  }


  // The drawn tracks: all re-chosen after a reset (login, nation, replay), else only the
  // changed tracks are replaced. Whether anything changed.
  function updateDrawnTracks() {
    if (state.tracksReset) {
      state.tracksReset = false;
      state.changedTracks.clear();
      state.drawn = new Map();
      for (const track of pictureTracks(state)) {
        if (isShown(state, settings, track)) state.drawn.set(track.track_id, track);
      }
      return true;
    }
    if (state.replay || state.changedTracks.size === 0) return false;
    for (const trackId of state.changedTracks) {
      const track = state.tracks.get(trackId);
      if (track && isShown(state, settings, track)) state.drawn.set(trackId, track);
      else state.drawn.delete(trackId);
    }
    state.changedTracks.clear();
    return true;
  }

  return {
    overlayCanvas, canvasContext, screenTransform, trackLabel, drawTrails, drawTracks, focusTrack,
    followHooked, trackAt, updateDrawnTracks,
  };
}
