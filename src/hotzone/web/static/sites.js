// @ts-check
// Sensors, effectors and defended assets on the map, and what they cover:
// - each site is an APP-6 D symbol (milsymbol) chosen by its kind, with its name beside it
//   (docs/cop.md, "Symbols of sites", lists the codes), drawn on the page's canvas;
// - sensor coverage at the altitude the operator picks: from the sensor model's parameters
//   (`/api/layers` sensors, `coverage`: min and max range, min and max elevation, azimuth
//   sector, line-of-sight Earth factor, the sensor's height), the ground ranges at which an
//   object at that altitude is inside the model's coverage volume, drawn as a MapLibre
//   polygon: an annulus where a minimum range or a maximum elevation leaves a hole over
//   the sensor, a sector where the sensor looks one way;
// - the 95 % position ellipses of every drawn track (the "ellipses" overlay), not only the
//   hooked one's.

/* global ms */

const EARTH_RADIUS_M = 6371008.8;
const CIRCLE_POINTS = 72;
const RANGE_SAMPLES = 400;
const SITE_SYMBOL_SIZE = 18;

// Friend frames (identity digit 3): the sites are the picture's own.
/** @type {Record<string, string>} */
export const SENSOR_SIDCS = {
  air_surveillance_radar: "10031500002203000000",   // land equipment: radar
  ground_surveillance_radar: "10031500002203000000",
  eo_ir_camera: "10031000001512002200",             // land unit: sensor, electro-optical
  passive_rf_detector: "10031000001505020000",      // land unit: EW, direction finding
  acoustic_array: "10031500002202000000",           // land equipment: emplaced sensor
  unattended_ground_sensor: "10031500002202000000",
  adsb_receiver: "10031500002201000000",            // land equipment: sensor
  ais_station: "10031500002201000000",
  satellite_imager: "10031500002201000000",
  cyber_sensor: "10031500002005000000",             // land equipment: computer system
};
/** @type {Record<string, string>} */
export const EFFECTOR_SIDCS = {
  ew_jammer: "10031000001505040000",                // land unit: EW, jamming
  interceptor_drone: "10031000001301000000",        // land unit: air defence
  shorad: "10031500001111010000",                   // land equipment: SAM launcher, short range
  mrad: "10031500001111000000",                     // land equipment: SAM launcher
  camera: "10031000001512002200",
  radar: "10031500002203000000",
  quick_reaction_team: "10031000001211000000",      // land unit: infantry
  ugv: "10031000001219000000",                      // land unit: unmanned systems
};
/** @type {Record<string, string>} */
export const ASSET_SIDCS = {
  base: "10032000001100000000",                     // land installation: military
  default: "10032000001200000000",                  // land installation: infrastructure
};
const GENERIC_SENSOR = "10031500002201000000";
const GENERIC_EFFECTOR = "10031000001301000000";

/**
 * @typedef {{min_range_m: number | null, max_range_m: number | null,
 *   min_elevation_deg: number | null, max_elevation_deg: number | null,
 *   azimuth_center_deg: number | null, azimuth_width_deg: number | null,
 *   height_m: number, horizon_k_factor: number | null}} CoverageModel
 * @typedef {{id: string, layer: string, kind: string, name: string, sidc: string,
 *   lon: number, lat: number, coverage: CoverageModel | null}} Site
 * @typedef {{scaleX: number, scaleY: number, offsetX: number, offsetY: number}} View
 * @typedef {(lon: number, lat: number, view: View) => [number, number]} Project
 */

/** @param {string} model */
export const sensorSidc = (model) => SENSOR_SIDCS[model] || GENERIC_SENSOR;
/** @param {string} kind */
export const effectorSidc = (kind) => EFFECTOR_SIDCS[kind] || GENERIC_EFFECTOR;
/** @param {string} kind */
export const assetSidc = (kind) => ASSET_SIDCS[kind] || ASSET_SIDCS.default;

/**
 * Whether an object at ``altitude`` metres, ``range`` metres over the ground from the
 * sensor, is inside the model's coverage volume (the tests of `hotzone.sim.sensors`:
 * slant range, elevation in the sensor's local frame over a curved Earth, line of sight).
 * @param {CoverageModel} model
 * @param {number} altitude
 * @param {number} range
 */
export function covers(model, altitude, range) {
  const up = altitude - model.height_m - range * range / (2 * EARTH_RADIUS_M);
  const slant = Math.hypot(range, up);
  if (model.min_range_m !== null && slant < model.min_range_m) return false;
  if (model.max_range_m !== null && slant > model.max_range_m) return false;
  const elevation = Math.atan2(up, range) * 180 / Math.PI;
  if (model.min_elevation_deg !== null && elevation < model.min_elevation_deg) return false;
  if (model.max_elevation_deg !== null && elevation > model.max_elevation_deg) return false;
  if (model.horizon_k_factor !== null) {
    const radius = model.horizon_k_factor * EARTH_RADIUS_M;
    const reach = Math.sqrt(2 * radius * Math.max(model.height_m, 0)) + Math.sqrt(2 * radius * Math.max(altitude, 0));
    if (range > reach) return false;
  }
  return true;
}

/**
 * The ground ranges [inner, outer] (metres) at which the model covers ``altitude``; null
 * when it covers none. Sampled, then each edge found by bisection to a metre.
 * @param {CoverageModel} model
 * @param {number} altitude
 * @returns {{inner_m: number, outer_m: number} | null}
 */
export function coverageAt(model, altitude) {
  const farthest = model.max_range_m ?? 0;
  if (!(farthest > 0)) return null;
  const step = farthest / RANGE_SAMPLES;
  let first = -1, last = -1;
  for (let i = 0; i <= RANGE_SAMPLES; i += 1) {
    if (covers(model, altitude, i * step)) { if (first < 0) first = i; last = i; }
  }
  if (first < 0) return null;
  const edge = (/** @type {number} */ outside, /** @type {number} */ inside) => {
    for (let i = 0; i < 40 && Math.abs(inside - outside) > 0.5; i += 1) {
      const middle = (inside + outside) / 2;
      if (covers(model, altitude, middle)) inside = middle; else outside = middle;
    }
    return inside;
  };
  const inner = first === 0 ? 0 : edge((first - 1) * step, first * step);
  const outer = last === RANGE_SAMPLES ? farthest : edge((last + 1) * step, last * step);
  return { inner_m: inner, outer_m: outer };
}

/**
 * The point ``distance`` metres from a centre along ``bearing`` degrees (great circle).
 * @returns {[number, number]} [lon, lat]
 */
function destination(/** @type {number} */ lat, /** @type {number} */ lon, /** @type {number} */ distance, /** @type {number} */ bearing) {
  const lat0 = lat * Math.PI / 180, lon0 = lon * Math.PI / 180;
  const angular = distance / EARTH_RADIUS_M, b = bearing * Math.PI / 180;
  const lat1 = Math.asin(Math.sin(lat0) * Math.cos(angular) + Math.cos(lat0) * Math.sin(angular) * Math.cos(b));
  const lon1 = lon0 + Math.atan2(Math.sin(b) * Math.sin(angular) * Math.cos(lat0),
    Math.cos(angular) - Math.sin(lat0) * Math.sin(lat1));
  return [lon1 * 180 / Math.PI, lat1 * 180 / Math.PI];
}

/**
 * A sensor's coverage at an altitude as a GeoJSON polygon: an annulus (outer ring and a
 * hole) or, for a sector, one ring along the outer arc and back along the inner one.
 * @param {Site} site
 * @param {{inner_m: number, outer_m: number}} band
 */
function coveragePolygon(site, band) {
  const model = /** @type {CoverageModel} */ (site.coverage);
  const width = model.azimuth_width_deg ?? 360;
  const arc = (/** @type {number} */ radius, /** @type {number} */ from, /** @type {number} */ to) => {
    /** @type {[number, number][]} */
    const points = [];
    for (let i = 0; i <= CIRCLE_POINTS; i += 1) points.push(destination(site.lat, site.lon, radius, from + (to - from) * i / CIRCLE_POINTS));
    return points;
  };
  if (width >= 360) {
    const rings = [arc(band.outer_m, 0, 360)];
    if (band.inner_m > 0) rings.push(arc(band.inner_m, 360, 0));
    return rings;
  }
  const centre = model.azimuth_center_deg ?? 0;
  const from = centre - width / 2, to = centre + width / 2;
  const inner = band.inner_m > 0 ? arc(band.inner_m, to, from) : [[site.lon, site.lat]];
  const ring = [...arc(band.outer_m, from, to), ...inner];
  ring.push(ring[0]);
  return [ring];
}

/**
 * @param {{isHidden: (overlay: string) => boolean, project: Project}} page
 */
export function createSites(page) {
  /** @type {Site[]} */
  let sites = [];
  /** @type {Map<string, {canvas: HTMLCanvasElement, width: number, height: number, anchorX: number, anchorY: number}>} */
  const sprites = new Map();
  /** @type {{id: string, layer: string, sidc: string, name: string, x: number, y: number}[]} */
  let drawnSites = [];
  /** @type {{id: string, inner_m: number, outer_m: number}[]} */
  let bands = [];
  /** @type {{track_id: string, x: number, y: number, rx: number, ry: number}[]} */
  let drawnEllipses = [];
  let altitude = 300;

  const sprite = (/** @type {string} */ sidc) => {
    let found = sprites.get(sidc);
    if (!found) {
      // @ts-ignore milsymbol is a global script (vendor/milsymbol.js)
      const symbol = new ms.Symbol(sidc, { size: SITE_SYMBOL_SIZE });
      const size = symbol.getSize(), anchor = symbol.getAnchor();
      found = { canvas: symbol.asCanvas(window.devicePixelRatio || 1), width: size.width, height: size.height,
        anchorX: anchor.x, anchorY: anchor.y };
      sprites.set(sidc, found);
    }
    return found;
  };

  return {
    /**
     * The coverage layers (under the sites' symbols): a faint fill and a dashed edge.
     * @param {any} map
     */
    addLayers(map) {
      map.addLayer({ id: "coverage-fill", type: "fill", source: "coverage", paint: { "fill-color": "#5a8", "fill-opacity": 0.08 } });
      map.addLayer({ id: "coverage", type: "line", source: "coverage", paint: { "line-color": "#5a8", "line-width": 0.8, "line-dasharray": [3, 3] } });
    },

    /** @param {any} layers the answer of /api/layers */
    load(layers) {
      /** @type {(f: any) => [number, number]} */
      const centre = (f) => {
        if (f.geometry.type === "Point") return f.geometry.coordinates.slice(0, 2);
        const ring = f.geometry.coordinates[0].slice(0, -1);
        return [ring.reduce((s, /** @type {number[]} */ p) => s + p[0], 0) / ring.length,
          ring.reduce((s, /** @type {number[]} */ p) => s + p[1], 0) / ring.length];
      };
      const sensors = layers.sensors?.features || [];
      const effectors = layers.effectors?.features || [];
      const assets = (layers.assets?.features || []).filter((/** @type {any} */ f) => f.geometry.type === "Polygon");
      const site = (/** @type {any} */ f, /** @type {string} */ layer, /** @type {string} */ id,
        /** @type {string} */ kind, /** @type {string} */ sidc) => {
        const [lon, lat] = centre(f);
        return { id, layer, kind, name: id, sidc, lon, lat, coverage: f.properties.coverage || null };
      };
      sites = [
        ...sensors.map((/** @type {any} */ f) => site(f, "sensors", f.properties.id, f.properties.model, sensorSidc(f.properties.model))),
        ...effectors.map((/** @type {any} */ f) => site(f, "effectors", f.properties.id, f.properties.kind, effectorSidc(f.properties.kind))),
        ...assets.map((/** @type {any} */ f) => site(f, "assets", f.properties.name, f.properties.kind || "", assetSidc(f.properties.kind))),
      ];
    },

    /** The altitude (metres) the coverage is drawn for. */
    get altitude() { return altitude; },

    /**
     * The coverage of every sensor at ``metres`` as a GeoJSON collection (for the map's
     * "coverage" source).
     * @param {number} metres
     */
    coverageCollection(metres) {
      altitude = metres;
      bands = [];
      const features = [];
      for (const site of sites) {
        if (!site.coverage) continue;
        const band = coverageAt(site.coverage, metres);
        if (!band) continue;
        bands.push({ id: site.id, ...band });
        features.push({ type: "Feature", properties: { id: site.id, ...band },
          geometry: { type: "Polygon", coordinates: coveragePolygon(site, band) } });
      }
      return { type: "FeatureCollection", features };
    },

    /**
     * Symbols and names of the sites shown (on the canvas under the tracks).
     * @param {CanvasRenderingContext2D} context
     * @param {View} view
     */
    draw(context, view) {
      drawnSites = [];
      const names = !page.isHidden("names");
      context.font = "10px system-ui, sans-serif";
      context.textBaseline = "middle";
      context.lineWidth = 3;
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      context.fillStyle = "#cde";
      for (const site of sites) {
        if (page.isHidden(site.layer)) continue;
        const [x, y] = page.project(site.lon, site.lat, view);
        const mark = sprite(site.sidc);
        context.drawImage(mark.canvas, x - mark.anchorX, y - mark.anchorY, mark.width, mark.height);
        drawnSites.push({ id: site.id, layer: site.layer, sidc: site.sidc, name: site.name, x, y });
        if (!names || !site.name) continue;
        const left = x + mark.width - mark.anchorX + 2;
        context.strokeText(site.name, left, y);
        context.fillText(site.name, left, y);
      }
    },

    /**
     * The 95 % position ellipse of each track (dashed, in its identity colour).
     * @param {CanvasRenderingContext2D} context
     * @param {View} view
     * @param {Iterable<any>} tracks
     * @param {Record<string, string>} colours
     */
    drawEllipses(context, view, tracks, colours) {
      drawnEllipses = [];
      if (page.isHidden("ellipses") || page.isHidden("tracks")) return;
      context.save();
      context.lineWidth = 1;
      context.setLineDash([2, 3]);
      for (const track of tracks) {
        const ellipse = track.ellipse;
        if (!ellipse) continue;
        const [x, y] = page.project(track.lon_deg, track.lat_deg, view);
        const perMetre = view.scaleX / (2 * Math.PI * 6378137 * Math.cos(track.lat_deg * Math.PI / 180));
        const rx = Math.max(1, ellipse.semi_major_m * perMetre), ry = Math.max(1, ellipse.semi_minor_m * perMetre);
        context.beginPath();
        context.ellipse(x, y, rx, ry, (ellipse.bearing_deg - 90) * Math.PI / 180, 0, 2 * Math.PI);
        context.strokeStyle = colours[track.standard_identity] || "#fff";
        context.stroke();
        drawnEllipses.push({ track_id: track.track_id, x, y, rx, ry });
      }
      context.restore();
    },

    /** For tests: what the last draws showed. */
    drawn: () => drawnSites,
    ellipses: () => drawnEllipses,
    coverage: () => ({ altitude_m: altitude, bands }),
  };
}
