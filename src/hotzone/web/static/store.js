// @ts-check
// The page's state and how updates change it: tracks (latest state per track, with a short
// trail), alerts, proposals, the picture's clock, a replayed time's picture, and what
// changed since the last draw. Pure: no DOM, no network, no timers, so it runs under node
// (tests/web/unit/store.test.mjs) exactly as in the page. The page (cop.js) adds its own
// drawing fields to the same object.
//
// Imports are relative (not "/static/..."): the browser resolves them to the same modules
// as cop.js's, and node resolves them on disk.

import { trackName } from "./names.js";
import { passes } from "./view.js";

/** Points kept per track's trail (the page draws the last minute or so). */
export const TRAIL_POINTS = 60;
/** Deleted tracks remembered for their names (an alert may still name one). */
export const DEPARTED_KEPT = 1000;

/**
 * A track as the API serves it (GET /api/tracks, stream `track` updates).
 * @typedef {{
 *   track_id: string, time: string, status: string, lon_deg: number, lat_deg: number,
 *   track_number: number, nations?: string[], contributions?: string[], fused_into?: string | null,
 *   target_class?: string, standard_identity?: string, threat_score?: number | null,
 *   speed_mps?: number, course_deg?: number, altitude_m?: number, callsign?: string, sidc?: string,
 *   trail?: [number, number][], [key: string]: any,
 * }} Track
 */

/**
 * An alert (GET /api/alerts, stream `alert` updates).
 * @typedef {{
 *   alert_id: string, time: string, kind: string, summary: string, priority: number,
 *   state: string, track_id?: string | null, acknowledged_by?: string | null, [key: string]: any,
 * }} Alert
 */

/**
 * A proposal as c2 left it (GET /api/proposals, stream `proposal` updates).
 * @typedef {{
 *   proposal_id: string, time: string, track_id: string, effector_id: string, state: string,
 *   expires_at: string, decidable?: boolean, group?: string, [key: string]: any,
 * }} Proposal
 */

/** @typedef {{kind: string, data: any}} Update */

/**
 * The picture at a replayed time (GET /api/replay).
 * @typedef {{clock: string, tracks: Track[], alerts: Map<string, Alert>, proposals: Map<string, Proposal>}} Replay
 */

/**
 * @typedef {{
 *   tracks: Map<string, Track>, trails: Map<string, [number, number][]>,
 *   departed: Map<string, Track>, alerts: Map<string, Alert>, proposals: Map<string, Proposal>,
 *   clock: string | null, firstTime: number | null, replay: Replay | null,
 *   user: {username: string, role: string, nation: string, display_name?: string} | null,
 *   status: any, hooked: string | null,
 *   changedTracks: Set<string>, tracksReset: boolean, trailsDirty: boolean, alertsDirty: boolean,
 *   proposalsDirty: boolean, clockDirty: boolean, newUrgentAlerts: Alert[],
 *   [key: string]: any,
 * }} Store
 */

/** @returns {Store} an empty store: nothing known, everything to draw. */
export function createStore() {
  return {
    tracks: new Map(), trails: new Map(), departed: new Map(), alerts: new Map(), proposals: new Map(),
    clock: null, firstTime: null, replay: null, user: null, status: null, hooked: null,
    changedTracks: new Set(), tracksReset: true, trailsDirty: true, alertsDirty: true,
    proposalsDirty: true, clockDirty: true, newUrgentAlerts: [],
  };
}

/** The highest alert priority (P1): a new open one gets the operator's attention at once. */
export const URGENT_PRIORITY = 1;

/**
 * Apply one stream update. States of one object come with their times (ISO, one clock): an
 * update older than what the store holds is ignored (a batch sent before a reload, or a
 * resume's picture newer than a late update). A deleted track leaves the picture (its name
 * is kept for alerts that still mention it). A new open P1 alert is queued in
 * `newUrgentAlerts` for the page's cue.
 * @param {Store} store
 * @param {Update} update
 * @returns {boolean} whether the update changed the store
 */
export function applyUpdate(store, update) {
  const data = update.data;
  switch (update.kind) {
    case "track": return applyTrack(store, data);
    case "alert": {
      const previous = store.alerts.get(data.alert_id);
      if (previous && previous.time > data.time) return false;
      store.alerts.set(data.alert_id, data);
      store.alertsDirty = true;
      if (!previous && data.priority <= URGENT_PRIORITY && data.state === "open") store.newUrgentAlerts.push(data);
      return true;
    }
    case "proposal": {
      const previous = store.proposals.get(data.proposal_id);
      // c2's status updates keep the proposal's time: only a strictly older one is stale.
      if (previous && previous.time > data.time) return false;
      store.proposals.set(data.proposal_id, data);
      store.proposalsDirty = true;
      return true;
    }
    default: return false;
  }
}

/**
 * @param {Store} store
 * @param {Track} track
 */
function applyTrack(store, track) {
  const previous = store.tracks.get(track.track_id) || store.departed.get(track.track_id);
  if (previous && previous.time > track.time) return false;
  store.departed.delete(track.track_id);
  store.changedTracks.add(track.track_id);
  for (const member of track.contributions || []) store.changedTracks.add(member);
  store.trailsDirty = true;
  if (track.status === "deleted") {
    store.tracks.delete(track.track_id);
    store.trails.delete(track.track_id);
    rememberDeparted(store, track);
    return true;
  }
  store.tracks.set(track.track_id, track);
  let trail = store.trails.get(track.track_id);
  if (!trail) store.trails.set(track.track_id, trail = []);
  const last = trail[trail.length - 1];
  if (!last || last[0] !== track.lon_deg || last[1] !== track.lat_deg) trail.push([track.lon_deg, track.lat_deg]);
  if (trail.length > TRAIL_POINTS) trail.splice(0, trail.length - TRAIL_POINTS);
  const time = Date.parse(track.time) / 1000;
  if (store.firstTime === null || time < store.firstTime) store.firstTime = time;
  return true;
}

/**
 * A deleted track's last state, for its name: the oldest forgotten beyond DEPARTED_KEPT.
 * @param {Store} store
 * @param {Track} track
 */
function rememberDeparted(store, track) {
  store.departed.set(track.track_id, track);
  if (store.departed.size > DEPARTED_KEPT) store.departed.delete(/** @type {string} */ (store.departed.keys().next().value));
}

/**
 * The picture as the API has it now (a login, a nation view, a resume after a dropped
 * stream): replaces what the store held, then everything is redrawn.
 * @param {Store} store
 * @param {{tracks: Track[], alerts: Alert[], proposals: Proposal[], clock: string | null,
 *   histories: ({track_id: string, points: {time: number, lon_deg: number, lat_deg: number}[]} | null)[]}} picture
 */
export function setPicture(store, picture) {
  store.tracks = new Map();
  for (const track of picture.tracks) {
    if (track.status === "deleted") rememberDeparted(store, track);
    else store.tracks.set(track.track_id, track);
  }
  store.alerts = new Map(picture.alerts.map((a) => [a.alert_id, a]));
  store.proposals = new Map(picture.proposals.map((p) => [p.proposal_id, p]));
  store.trails = new Map();
  for (const history of picture.histories) {
    if (!history) continue;
    store.trails.set(history.track_id, history.points.slice(-TRAIL_POINTS).map((p) => [p.lon_deg, p.lat_deg]));
    for (const point of history.points) {
      if (store.firstTime === null || point.time < store.firstTime) store.firstTime = point.time;
    }
  }
  if (picture.clock) store.clock = picture.clock;
  markAllDirty(store);
}

/**
 * The picture at a replayed time, or null to go back to live.
 * @param {Store} store
 * @param {{clock: string, tracks: Track[], alerts: Alert[], proposals: Proposal[]} | null} picture
 */
export function setReplay(store, picture) {
  store.replay = picture && {
    clock: picture.clock,
    tracks: picture.tracks,
    alerts: new Map(picture.alerts.map((a) => [a.alert_id, a])),
    proposals: new Map(picture.proposals.map((p) => [p.proposal_id, p])),
  };
  markAllDirty(store);
}

/** @param {Store} store */
export function markAllDirty(store) {
  store.tracksReset = true;
  store.trailsDirty = true;
  store.alertsDirty = true;
  store.proposalsDirty = true;
  store.clockDirty = true;
}

// ---- what is shown: the live picture, or the replayed time's ------------------------------

/** @param {Store} store */
export const shownAlerts = (store) => (store.replay?.alerts || store.alerts);
/** @param {Store} store */
export const shownProposals = (store) => (store.replay?.proposals || store.proposals);
/** @param {Store} store */
export const shownClock = (store) => (store.replay?.clock || store.clock);
/** @param {Store} store @returns {Iterable<Track>} */
export const pictureTracks = (store) => (store.replay?.tracks || store.tracks.values());
/**
 * A track as shown now: the replayed time's, or the live one.
 * @param {Store} store
 * @param {string | null} trackId
 */
export function shownTrack(store, trackId) {
  if (!trackId) return undefined;
  return store.replay ? store.replay.tracks.find((t) => t.track_id === trackId) : store.tracks.get(trackId);
}

/**
 * A track the page draws and lists: it passes the operator's filters, and no alliance track
 * the viewer receives stands for it (that one is drawn instead, one track per object).
 * @param {Store} store
 * @param {import("./view.js").Settings} settings
 * @param {Track} track
 */
export function isShown(store, settings, track) {
  return passes(settings, track) && (!track.fused_into || store.tracks.get(track.fused_into)?.status !== "confirmed");
}

/**
 * @param {Store} store
 * @param {import("./view.js").Settings} settings
 */
export function shownTracks(store, settings) {
  return [...pictureTracks(store)].filter((track) => isShown(store, settings, track));
}

// ---- names ---------------------------------------------------------------------------------

/** The server's nation: whose track numbers own tracks carry. @param {Store} store */
export const ownNation = (store) => store.status?.nation || store.user?.nation || "";

/**
 * "PL TN101" (an ally's track, named ORIGIN:id by the API, carries its origin's number); an
 * alliance track (fused from several nations' tracks) shows its nations: "LT+PL AT3".
 * @param {Store} store
 * @param {Track} track
 */
export function trackNumber(store, track) {
  if (track.contributions?.length) return `${(track.nations || []).join("+")} AT${track.track_number}`;
  return trackName(track, ownNation(store));
}

/**
 * The name of a track id, when the store knows (or knew) the track.
 * @param {Store} store
 * @param {string} trackId
 */
export function nameOf(store, trackId) {
  const track = store.tracks.get(trackId) || store.departed.get(trackId);
  return track ? trackNumber(store, track) : null;
}

// ---- the right column: decision queue and alert groups -------------------------------------

/**
 * One card per `group` (the same track and effector proposed again): the newest proposal
 * still open to a decision, else the newest; with the others counted as earlier ones and
 * their orders and the orders' effects (`otherOrders`, `otherEffects`: an order issued
 * against that track with that effector, and what it did, are never hidden by a newer
 * proposal).
 * Cards open to a decision come first, by urgency: soonest expiry first, then the higher
 * threat (`threatOf` the track); then the rest, newest first.
 * @param {Iterable<Proposal>} proposals
 * @param {(trackId: string) => number} [threatOf]
 */
export function proposalCards(proposals, threatOf = () => 0) {
  /** @type {Map<string, Proposal[]>} */
  const groups = new Map();
  for (const proposal of proposals) {
    const group = proposal.group || `${proposal.track_id}|${proposal.effector_id}`;
    if (!groups.has(group)) groups.set(group, []);
    /** @type {Proposal[]} */ (groups.get(group)).push(proposal);
  }
  const cards = [];
  for (const [group, members] of groups) {
    members.sort((a, b) => a.time.localeCompare(b.time) || a.proposal_id.localeCompare(b.proposal_id));
    const open = members.filter((p) => p.decidable);
    const shown = open.length ? open[open.length - 1] : members[members.length - 1];
    cards.push({ group, proposal: shown, earlier: members.filter((p) => p !== shown && p.time <= shown.time).length,
      // An order issued on another proposal of the group stays on the group's card.
      otherOrders: members.filter((p) => p !== shown).flatMap((p) => p.orders || []),
      otherEffects: members.filter((p) => p !== shown).flatMap((p) => p.effects || []) });
  }
  cards.sort((a, b) => Number(Boolean(b.proposal.decidable)) - Number(Boolean(a.proposal.decidable))
    || (a.proposal.decidable
      ? Date.parse(a.proposal.expires_at) - Date.parse(b.proposal.expires_at)
        || threatOf(b.proposal.track_id) - threatOf(a.proposal.track_id)
      : b.proposal.time.localeCompare(a.proposal.time)));
  return cards;
}

/**
 * @typedef {{key: string, trackId: string | null, kind: string | null, alerts: Alert[],
 *   priority: number, open: number, latest: string}} AlertGroup
 */

/**
 * Alerts grouped by the track they are about (one threat, one group: an operator acts on
 * the track, and acknowledging its alerts together is one act); alerts about no track (a
 * cyber intrusion, a sensor down) grouped by kind. In each group the most urgent first
 * (priority, then newest); groups with open alerts first, by their most urgent open alert,
 * then the newest.
 * @param {Iterable<Alert>} alerts
 * @returns {AlertGroup[]}
 */
export function alertGroups(alerts) {
  /** @type {Map<string, AlertGroup>} */
  const groups = new Map();
  for (const alert of alerts) {
    const key = alert.track_id ? `track:${alert.track_id}` : `kind:${alert.kind}`;
    let group = groups.get(key);
    if (!group) {
      group = { key, trackId: alert.track_id || null, kind: alert.track_id ? null : alert.kind, alerts: [],
        priority: Infinity, open: 0, latest: "" };
      groups.set(key, group);
    }
    group.alerts.push(alert);
    if (alert.state === "open") { group.open += 1; group.priority = Math.min(group.priority, alert.priority); }
    if (alert.time > group.latest) group.latest = alert.time;
  }
  for (const group of groups.values()) {
    group.alerts.sort((a, b) => a.priority - b.priority || b.time.localeCompare(a.time));
    if (!group.open) group.priority = Math.min(...group.alerts.map((a) => a.priority));
  }
  return [...groups.values()].sort((a, b) => Number(b.open > 0) - Number(a.open > 0)
    || a.priority - b.priority || b.latest.localeCompare(a.latest) || a.key.localeCompare(b.key));
}
