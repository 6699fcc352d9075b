// @ts-check
// The map's instruments: zoom and north buttons, a scale bar, the cursor's position in
// latitude/longitude and MGRS (npm `mgrs`, vendored), range rings around a chosen point
// and a bearing/range measuring tool. Rings and the measured line are drawn on their own
// canvas over the track canvases; everything follows the map as it pans and zooms.

/** Mean earth radius (m), IUGG: the sphere bearings and ranges are measured on. */
export const EARTH_RADIUS_M = 6371008.8;
const NAUTICAL_MILE_M = 1852;
const RING_COUNT = 5;

const radians = (/** @type {number} */ d) => d * Math.PI / 180;
const degrees = (/** @type {number} */ r) => r * 180 / Math.PI;

/**
 * Great-circle range (m) and initial bearing (degrees from true north) from a to b.
 * @param {[number, number]} a [lon, lat]
 * @param {[number, number]} b [lon, lat]
 */
export function bearingRange(a, b) {
  const [lon1, lat1] = a.map(radians), [lon2, lat2] = b.map(radians);
  const dLat = lat2 - lat1, dLon = lon2 - lon1;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin(dLon / 2) ** 2;
  const range = 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
  const y = Math.sin(dLon) * Math.cos(lat2);
  const x = Math.cos(lat1) * Math.sin(lat2) - Math.sin(lat1) * Math.cos(lat2) * Math.cos(dLon);
  return { range, bearing: (degrees(Math.atan2(y, x)) + 360) % 360 };
}

/**
 * The point ``range`` metres from ``start`` on ``bearing`` (degrees), on the sphere.
 * @param {[number, number]} start [lon, lat]
 */
export function destination(start, /** @type {number} */ bearing, /** @type {number} */ range) {
  const [lon1, lat1] = start.map(radians);
  const angle = range / EARTH_RADIUS_M, theta = radians(bearing);
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(angle) + Math.cos(lat1) * Math.sin(angle) * Math.cos(theta));
  const lon2 = lon1 + Math.atan2(Math.sin(theta) * Math.sin(angle) * Math.cos(lat1),
    Math.cos(angle) - Math.sin(lat1) * Math.sin(lat2));
  return /** @type {[number, number]} */ ([degrees(lon2), degrees(lat2)]);
}

/** "34UFE3764485562" as "34U FE 37644 85562" (zone, 100 km square, easting, northing). */
export function spacedMgrs(/** @type {string} */ reference) {
  const match = /^(\d{1,2}[A-Z])([A-Z]{2})(\d*)$/.exec(reference);
  if (!match) return reference;
  const digits = match[3], half = digits.length / 2;
  return `${match[1]} ${match[2]} ${digits.slice(0, half)} ${digits.slice(half)}`;
}

const latLonText = (/** @type {number} */ lon, /** @type {number} */ lat) =>
  `${Math.abs(lat).toFixed(5)}°${lat >= 0 ? "N" : "S"} ${Math.abs(lon).toFixed(5)}°${lon >= 0 ? "E" : "W"}`;

/**
 * @param {{map: any, overlayCanvas: (id: string) => HTMLCanvasElement,
 *   canvasContext: (canvas: HTMLCanvasElement) => {context: CanvasRenderingContext2D, width: number, height: number},
 *   isHidden: (overlay: string) => boolean}} page
 */
export function createTools(page) {
  const { map } = page;
  const maplibre = /** @type {any} */ (window).maplibregl;
  map.addControl(new maplibre.NavigationControl({ showCompass: true, visualizePitch: false }), "top-right");
  map.addControl(new maplibre.ScaleControl({ maxWidth: 120, unit: "metric" }), "bottom-left");
  const canvas = page.overlayCanvas("tool-canvas");
  const cursor = /** @type {HTMLElement} */ (document.getElementById("cursor"));
  const readout = /** @type {HTMLElement} */ (document.getElementById("measure-readout"));
  const buttons = {
    rings: /** @type {HTMLButtonElement} */ (document.getElementById("rings-button")),
    measure: /** @type {HTMLButtonElement} */ (document.getElementById("measure-button")),
  };
  const ringStep = /** @type {HTMLSelectElement} */ (document.getElementById("ring-step"));
  /** @type {{mode: "rings" | "measure" | null, ringCentre: [number, number] | null,
   *   measureFrom: [number, number] | null, measureTo: [number, number] | null, measuring: boolean}} */
  const tools = { mode: null, ringCentre: null, measureFrom: null, measureTo: null, measuring: false };

  /** The cursor's position in lat/lon and MGRS, written as text and as data attributes. */
  function showCursor(/** @type {number} */ lon, /** @type {number} */ lat) {
    let reference = "";
    try {
      reference = /** @type {any} */ (window).mgrs.forward([lon, lat], 5);
    } catch { /* polar regions: MGRS is UPS there, not drawn */ }
    cursor.dataset.lat = String(lat);
    cursor.dataset.lon = String(lon);
    cursor.dataset.mgrs = reference;
    cursor.textContent = `${latLonText(lon, lat)} · MGRS ${reference ? spacedMgrs(reference) : "—"}`;
  }

  function setMode(/** @type {"rings" | "measure" | null} */ mode) {
    tools.mode = tools.mode === mode ? null : mode;
    buttons.rings.classList.toggle("active", tools.mode === "rings");
    buttons.measure.classList.toggle("active", tools.mode === "measure");
    map.getCanvas().style.cursor = tools.mode ? "crosshair" : "";
    if (tools.mode === "measure") { tools.measureFrom = null; tools.measureTo = null; tools.measuring = false; showMeasure(); }
    draw();
  }

  function showMeasure() {
    if (!tools.measureFrom || !tools.measureTo) {
      readout.textContent = tools.mode === "measure" ? "measure: click the start, then the end" : "";
      readout.classList.toggle("hidden", tools.mode !== "measure");
      delete readout.dataset.bearing;
      delete readout.dataset.range;
      return;
    }
    const { range, bearing } = bearingRange(tools.measureFrom, tools.measureTo);
    readout.dataset.bearing = String(bearing);
    readout.dataset.range = String(range);
    readout.textContent = `bearing ${bearing.toFixed(1).padStart(5, "0")}° · range ${(range / 1000).toFixed(2)} km · ${(range / NAUTICAL_MILE_M).toFixed(2)} NM`;
    readout.classList.remove("hidden");
  }

  /** Handles a map click when a tool is active; whether it did. */
  function click(/** @type {[number, number]} */ lngLat) {
    if (tools.mode === "rings") {
      tools.ringCentre = lngLat;
      setMode(null);
      return true;
    }
    if (tools.mode === "measure") {
      if (!tools.measuring) {
        tools.measureFrom = lngLat;
        tools.measureTo = null;
        tools.measuring = true;
      } else {
        tools.measureTo = lngLat;
        tools.measuring = false;
      }
      showMeasure();
      draw();
      return true;
    }
    return false;
  }

  function draw() {
    const { context } = page.canvasContext(canvas);
    const at = (/** @type {[number, number]} */ p) => { const s = map.project(p); return [s.x, s.y]; };
    if (tools.ringCentre && !page.isHidden("rings")) {
      const step = Number(ringStep.value) * 1000;
      context.save();
      context.strokeStyle = "rgba(255,255,255,0.7)";
      context.fillStyle = "#fff";
      context.lineWidth = 1;
      context.setLineDash([4, 4]);
      context.font = "10px system-ui, sans-serif";
      for (let ring = 1; ring <= RING_COUNT; ring += 1) {
        context.beginPath();
        for (let bearing = 0; bearing <= 360; bearing += 5) {
          const [x, y] = at(destination(tools.ringCentre, bearing, ring * step));
          if (bearing === 0) context.moveTo(x, y); else context.lineTo(x, y);
        }
        context.stroke();
        const [x, y] = at(destination(tools.ringCentre, 0, ring * step));
        context.fillText(`${ring * step / 1000} km`, x + 3, y - 3);
      }
      const [x, y] = at(tools.ringCentre);
      context.setLineDash([]);
      context.beginPath();
      context.moveTo(x - 6, y); context.lineTo(x + 6, y); context.moveTo(x, y - 6); context.lineTo(x, y + 6);
      context.stroke();
      context.restore();
    }
    if (tools.measureFrom && tools.measureTo) {
      const [x1, y1] = at(tools.measureFrom), [x2, y2] = at(tools.measureTo);
      context.save();
      context.strokeStyle = "#ffd400";
      context.lineWidth = 2;
      context.beginPath();
      context.moveTo(x1, y1);
      context.lineTo(x2, y2);
      context.stroke();
      context.fillStyle = "#ffd400";
      context.font = "11px system-ui, sans-serif";
      context.fillText(readout.textContent || "", (x1 + x2) / 2 + 6, (y1 + y2) / 2 - 6);
      context.restore();
    }
  }

  map.on("mousemove", (/** @type {any} */ event) => {
    showCursor(event.lngLat.lng, event.lngLat.lat);
    if (tools.mode === "measure" && tools.measuring) {
      tools.measureTo = [event.lngLat.lng, event.lngLat.lat];
      showMeasure();
      draw();
    }
  });
  map.on("move", draw);
  map.on("resize", draw);
  buttons.rings.onclick = () => {
    if (tools.ringCentre && tools.mode !== "rings") { tools.ringCentre = null; draw(); buttons.rings.classList.remove("active"); return; }
    setMode("rings");
  };
  buttons.measure.onclick = () => setMode("measure");
  ringStep.onchange = draw;
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && tools.mode) setMode(tools.mode); });

  return { click, draw, tools, showCursor };
}
