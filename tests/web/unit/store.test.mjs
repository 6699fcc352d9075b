// The page's store under node (no browser): how stream updates, a reload and a replayed
// time change what the page shows. Run with `node --test tests/web/unit/`
// (tests/web/test_store_unit.py runs it under pytest).

import assert from "node:assert/strict";
import { test } from "node:test";

import * as store from "../../../src/hotzone/web/static/store.js";
import { settingsFrom } from "../../../src/hotzone/web/static/view.js";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const at = (seconds) => new Date(T0 + seconds * 1000).toISOString();

function track(id, seconds, fields = {}) {
  return {
    track_id: id, time: at(seconds), status: "confirmed", track_number: Number(id.replace(/\D/g, "")) || 1,
    lon_deg: 23 + seconds / 1000, lat_deg: 54, target_class: "one_way_attack_drone",
    standard_identity: "hostile", threat_score: 0.5, ...fields,
  };
}

function alert(id, seconds, fields = {}) {
  return { alert_id: id, time: at(seconds), kind: "hostile_inbound", summary: `alert ${id}`, priority: 2,
    state: "open", track_id: null, ...fields };
}

function proposal(id, seconds, fields = {}) {
  return { proposal_id: id, time: at(seconds), track_id: "T1", effector_id: "sam", state: "pending",
    decidable: true, expires_at: at(seconds + 60), ...fields };
}

const everything = () => settingsFrom(new URLSearchParams(""));

test("track updates are applied in order and a stale one is ignored", () => {
  const s = store.createStore();
  assert.equal(store.applyUpdate(s, { kind: "track", data: track("T1", 0) }), true);
  assert.equal(store.applyUpdate(s, { kind: "track", data: track("T1", 10, { lon_deg: 23.5 }) }), true);
  // Sent before the one above, arriving after it: the newer state stays.
  assert.equal(store.applyUpdate(s, { kind: "track", data: track("T1", 5, { lon_deg: 99 }) }), false);
  assert.equal(s.tracks.get("T1").lon_deg, 23.5);
  assert.equal(s.tracks.get("T1").time, at(10));
  assert.deepEqual(s.trails.get("T1"), [[23, 54], [23.5, 54]]);
  assert.deepEqual([...s.changedTracks], ["T1"]);
  assert.equal(s.firstTime, T0 / 1000);
});

test("a trail keeps the last TRAIL_POINTS distinct positions", () => {
  const s = store.createStore();
  for (let i = 0; i < store.TRAIL_POINTS + 5; i += 1) {
    store.applyUpdate(s, { kind: "track", data: track("T1", i, { lon_deg: 20 + i }) });
    store.applyUpdate(s, { kind: "track", data: track("T1", i, { lon_deg: 20 + i }) });  // same place: no new point
  }
  const trail = s.trails.get("T1");
  assert.equal(trail.length, store.TRAIL_POINTS);
  assert.deepEqual(trail[0], [25, 54]);
  assert.deepEqual(trail.at(-1), [20 + store.TRAIL_POINTS + 4, 54]);
});

test("a deleted track leaves the picture but keeps its name for alerts", () => {
  const s = store.createStore();
  s.user = { username: "observer", role: "observer", nation: "PL" };
  store.applyUpdate(s, { kind: "track", data: track("T7", 0) });
  store.applyUpdate(s, { kind: "track", data: track("T7", 5, { status: "deleted" }) });
  assert.equal(s.tracks.has("T7"), false);
  assert.equal(s.trails.has("T7"), false);
  assert.equal(store.nameOf(s, "T7"), "PL TN7");
  assert.deepEqual(store.shownTracks(s, everything()), []);
  // A reload that still lists it as deleted: named, not shown.
  store.setPicture(s, { tracks: [track("T8", 6, { status: "deleted" })], alerts: [], proposals: [], histories: [], clock: at(6) });
  assert.equal(s.tracks.has("T8"), false);
  assert.equal(store.nameOf(s, "T8"), "PL TN8");
  // An update older than the deletion does not bring the track back.
  assert.equal(store.applyUpdate(s, { kind: "track", data: track("T7", 3) }), false);
  assert.equal(s.tracks.has("T7"), false);
});

test("deleted tracks are remembered for their names up to DEPARTED_KEPT, the oldest forgotten", () => {
  const s = store.createStore();
  for (let i = 0; i <= store.DEPARTED_KEPT; i += 1) {
    store.applyUpdate(s, { kind: "track", data: track(`D${i}`, i, { status: "deleted" }) });
  }
  assert.equal(s.departed.size, store.DEPARTED_KEPT);
  assert.equal(store.nameOf(s, "D0"), null);
  assert.equal(store.nameOf(s, `D${store.DEPARTED_KEPT}`), `TN${store.DEPARTED_KEPT}`);
});

test("alerts: a newer state replaces, an older is ignored; only a new open P1 is urgent", () => {
  const s = store.createStore();
  store.applyUpdate(s, { kind: "alert", data: alert("A1", 0, { priority: 1 }) });
  store.applyUpdate(s, { kind: "alert", data: alert("A2", 0, { priority: 2 }) });
  store.applyUpdate(s, { kind: "alert", data: alert("A3", 0, { priority: 1, state: "acknowledged" }) });
  assert.deepEqual(s.newUrgentAlerts.map((a) => a.alert_id), ["A1"]);
  // Acknowledged later; then a late copy of the open state arrives.
  store.applyUpdate(s, { kind: "alert", data: alert("A1", 20, { priority: 1, state: "acknowledged", acknowledged_by: "operator1" }) });
  assert.equal(store.applyUpdate(s, { kind: "alert", data: alert("A1", 0, { priority: 1 }) }), false);
  assert.equal(s.alerts.get("A1").state, "acknowledged");
  // The acknowledgement of a known alert is not a new alert.
  assert.deepEqual(s.newUrgentAlerts.map((a) => a.alert_id), ["A1"]);
});

test("proposals: c2's status updates (same time) replace, an older proposal state is ignored", () => {
  const s = store.createStore();
  store.applyUpdate(s, { kind: "proposal", data: proposal("P1", 10) });
  store.applyUpdate(s, { kind: "proposal", data: proposal("P1", 10, { state: "ordered", decidable: false }) });
  assert.equal(s.proposals.get("P1").state, "ordered");
  assert.equal(store.applyUpdate(s, { kind: "proposal", data: proposal("P1", 5, { state: "pending" }) }), false);
  assert.equal(s.proposals.get("P1").state, "ordered");
});

test("the replay at a time T shows T's tracks, alerts, proposals and clock, then live again", () => {
  const s = store.createStore();
  store.setPicture(s, {
    tracks: [track("T1", 100, { target_class: "one_way_attack_drone" })],
    alerts: [alert("A1", 90, { state: "acknowledged" }), alert("A2", 95)],
    proposals: [proposal("P1", 96)],
    histories: [{ track_id: "T1", points: [{ time: T0 / 1000 + 50, lon_deg: 22.9, lat_deg: 54 }] }],
    clock: at(100),
  });
  assert.equal(s.firstTime, T0 / 1000 + 50);
  store.setReplay(s, {
    clock: at(60),
    tracks: [track("T1", 60, { target_class: "unknown", standard_identity: "unknown", trail: [[22.9, 54]] })],
    alerts: [alert("A1", 58)],
    proposals: [],
  });
  assert.equal(store.shownClock(s), at(60));
  assert.deepEqual([...store.shownAlerts(s).keys()], ["A1"]);
  assert.equal(store.shownAlerts(s).get("A1").state, "open");  // acknowledged only later
  assert.equal(store.shownProposals(s).size, 0);
  assert.equal(store.shownTrack(s, "T1").target_class, "unknown");
  assert.equal(s.tracksReset && s.alertsDirty && s.proposalsDirty && s.clockDirty, true);
  // Live updates meanwhile go to the live picture, not into the replayed one.
  store.applyUpdate(s, { kind: "alert", data: alert("A3", 101) });
  assert.equal(store.shownAlerts(s).has("A3"), false);
  store.setReplay(s, null);
  assert.equal(store.shownClock(s), at(100));
  assert.deepEqual([...store.shownAlerts(s).keys()].sort(), ["A1", "A2", "A3"]);
  assert.equal(store.shownTrack(s, "T1").target_class, "one_way_attack_drone");
});

test("filters: clutter, identity, domain, threat, tentative and tracks an alliance track stands for", () => {
  const s = store.createStore();
  store.setPicture(s, {
    tracks: [
      track("T1", 0),
      track("T2", 0, { target_class: "clutter", standard_identity: "unknown", threat_score: 0 }),
      track("T3", 0, { target_class: "vessel", standard_identity: "neutral", threat_score: 0.1 }),
      track("T4", 0, { status: "tentative" }),
      track("T5", 0, { fused_into: "AT1" }),
      track("AT1", 0, { contributions: ["T5", "LT:T9"], nations: ["LT", "PL"], track_number: 1 }),
    ],
    alerts: [], proposals: [], histories: [], clock: at(0),
  });
  const ids = (query) => store.shownTracks(s, settingsFrom(new URLSearchParams(query))).map((t) => t.track_id).sort();
  assert.deepEqual(ids(""), ["AT1", "T1", "T2", "T3"]);
  assert.deepEqual(ids("clutter=hide"), ["AT1", "T1", "T3"]);
  assert.deepEqual(ids("identity=hostile"), ["AT1", "T1"]);
  assert.deepEqual(ids("domain=sea"), ["T3"]);
  assert.deepEqual(ids("threat=0.3"), ["AT1", "T1"]);
  assert.deepEqual(ids("tentative=show"), ["AT1", "T1", "T2", "T3", "T4"]);
  assert.equal(store.trackNumber(s, s.tracks.get("AT1")), "LT+PL AT1");
});

test("the decision queue: awaiting first by time left, then threat; settled after, newest first", () => {
  const threats = { T1: 0.4, T2: 0.9, T3: 0.1 };
  const cards = store.proposalCards([
    proposal("P-late", 0, { track_id: "T3", effector_id: "a", expires_at: at(300) }),
    proposal("P-low", 0, { track_id: "T1", effector_id: "b", expires_at: at(100) }),
    proposal("P-high", 0, { track_id: "T2", effector_id: "c", expires_at: at(100) }),
    proposal("P-done", 50, { track_id: "T1", effector_id: "d", state: "ordered", decidable: false }),
    proposal("P-old", 10, { track_id: "T1", effector_id: "e", state: "expired", decidable: false }),
    // The same track and effector proposed again: one card, the earlier counted.
    proposal("P-again-0", 0, { track_id: "T3", effector_id: "a", state: "expired", decidable: false, expires_at: at(30) }),
  ], (trackId) => threats[trackId]);
  assert.deepEqual(cards.map((c) => c.proposal.proposal_id), ["P-high", "P-low", "P-late", "P-done", "P-old"]);
  assert.equal(cards[2].earlier, 1);
});

test("an order issued on an earlier proposal stays on its group's card", () => {
  const cards = store.proposalCards([
    proposal("P-ordered", 0, { track_id: "T1", effector_id: "a", state: "ordered", decidable: false,
      orders: [{ order_id: "ord-1" }] }),
    proposal("P-again", 60, { track_id: "T1", effector_id: "a", state: "expired", decidable: false }),
  ]);
  assert.deepEqual(cards.map((c) => c.proposal.proposal_id), ["P-again"]);
  assert.deepEqual(cards[0].otherOrders.map((o) => o.order_id), ["ord-1"]);
  assert.deepEqual(cards[0].otherEffects, []);
});

test("the effect of an earlier proposal's order stays on the group's card", () => {
  // c2 proposed the same track and effector again while the interceptor flew: the newer
  // proposal, open to a decision, is the card; the order's outcome must still show on it.
  const cards = store.proposalCards([
    proposal("P-ordered", 0, { track_id: "T1", effector_id: "a", state: "ordered", decidable: false,
      orders: [{ order_id: "ord-1" }], effects: [{ order_id: "ord-1", outcome: "missed", summary: "ord-1: missed" }] }),
    proposal("P-again", 60, { track_id: "T1", effector_id: "a", state: "pending", decidable: true }),
  ]);
  assert.deepEqual(cards.map((c) => c.proposal.proposal_id), ["P-again"]);
  assert.deepEqual(cards[0].otherEffects.map((e) => [e.order_id, e.outcome]), [["ord-1", "missed"]]);
});

test("alert groups: by track, by kind without a track; open and urgent groups first", () => {
  const groups = store.alertGroups([
    alert("A1", 0, { track_id: "T1", priority: 2 }),
    alert("A2", 10, { track_id: "T1", priority: 1 }),
    alert("A3", 5, { track_id: "T2", priority: 1, state: "acknowledged" }),
    alert("A4", 7, { kind: "cyber", priority: 3 }),
    alert("A5", 8, { kind: "cyber", priority: 3 }),
    alert("A6", 9, { track_id: "T3", priority: 2 }),
  ]);
  assert.deepEqual(groups.map((g) => g.key), ["track:T1", "track:T3", "kind:cyber", "track:T2"]);
  assert.deepEqual(groups[0].alerts.map((a) => a.alert_id), ["A2", "A1"]);
  assert.equal(groups[0].open, 2);
  assert.equal(groups[0].priority, 1);
  assert.equal(groups[2].kind, "cyber");
  assert.equal(groups[2].trackId, null);
  assert.equal(groups[3].open, 0);
});
