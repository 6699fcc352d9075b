// @ts-check
// The page for a decider (docs/architecture.md, "Trust"): the decision queue, the run-mode and abort
// banners, enrolling the operator's authenticator and signing decisions with it.
//
// The page decides nothing. Every card shows what c2 published last for its proposal
// (the view's `state`, `missing`, `approvals`, `failed_rules`, `decidable`); a verdict, an
// abort and a resume are decisions signed by the operator's own WebAuthn authenticator
// (webauthn.js): the server prepares the exact decision and its challenge
// (POST /api/decisions/challenge), the authenticator signs it, POST /api/decisions hands it
// to c2 and answers c2's word, which the card (or the header, for abort and resume) shows.

import { className, humanize, identityName, trackName } from "./names.js";
import { jumpButton } from "./panels.js";
import { proposalCards, shownProposals } from "./store.js";
import { registerAuthenticator, signWithAuthenticator } from "./webauthn.js";

// One card per track and effector, sorted by urgency: the store's (pure, tested under node).
export { proposalCards };

/**
 * What this module needs of the page (cop.js).
 * @typedef {{
 *   state: any,
 *   api: (path: string, options?: RequestInit) => Promise<any>,
 *   element: (tag: string, attributes?: Record<string, any>, ...children: any[]) => HTMLElement,
 *   redrawTracks: () => void,
 *   focusTrack: (trackId: string) => void,
 *   jump: (trackId: string) => void,
 *   scheduleRender: () => void,
 * }} Page
 */

/** How long a notice that is not an error stays. */
const NOTICE_MS = 15000;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Whether the logged-in user may act (observers may only look). */
export const canDecide = (/** @type {any} */ state) =>
  Boolean(state.user && state.user.role !== "observer");

/** Seconds from the picture's clock to an ISO time (null without a clock). */
function secondsUntil(/** @type {any} */ state, /** @type {string} */ iso) {
  // In a replay the clock is the replayed time's.
  const clock = state.replay?.clock || state.clock;
  if (!clock) return null;
  return (Date.parse(iso) - Date.parse(clock)) / 1000;
}

function countdownText(/** @type {number | null} */ seconds, /** @type {string} */ future, /** @type {string} */ past) {
  if (seconds === null) return "";
  if (seconds <= 0) return past;
  const whole = Math.ceil(seconds);
  return `${future} ${whole >= 120 ? `${Math.floor(whole / 60)} min ${whole % 60} s` : `${whole} s`}`;
}

const STATE_WORDS = {
  pending: "PENDING", ordered: "ORDERED", rejected: "REJECTED", expired: "EXPIRED",
  void: "VOID", cancelled: "CANCELLED", roe_failed: "ROE FAILED",
};

/**
 * @param {Page} page
 */
export function createDecider(page) {
  const { state, api, element } = page;
  state.credentials = null;        // {rp_id, credential_ids} of the logged-in user
  state.refusals = new Map();      // proposal id -> {text, accepted}: c2's answer to this page
  state.signing = new Set();       // targets being signed now
  state.highlight = null;          // the track id a card points at
  state.pinned = null;             // the card clicked (its highlight stays)
  state.c2 = null;                 // c2's state: mode, abort_active, changed_by, reason
  state.status = null;             // GET /api/status

  const me = () => state.user?.username;
  const live = () => Boolean(state.status?.live);
  const aborted = () => Boolean(state.c2?.abort_active);
  const remaining = (/** @type {any} */ p) => secondsUntil(state, p.expires_at) ?? p.expires_in_s ?? null;

  /** Whether the buttons of ``proposal`` are shown to this user now. */
  function mayDecide(/** @type {any} */ proposal) {
    const left = remaining(proposal);
    return canDecide(state) && live() && proposal.decidable && !aborted()
      && proposal.state === "pending" && !(proposal.failed_rules || []).length
      && (left === null || left > 0) && !(proposal.approvals || []).includes(me());
  }

  let noticeTimer = 0;
  /** A line under the header; errors stay until the next notice, the rest go after a while. */
  function notice(/** @type {string} */ text, kind = "info") {
    const box = $("notice");
    box.textContent = text;
    box.className = `notice ${kind}` + (text ? "" : " hidden");
    clearTimeout(noticeTimer);
    if (kind !== "error" && text) noticeTimer = window.setTimeout(() => notice(""), NOTICE_MS);
  }

  // ---- banners ---------------------------------------------------------------------------

  function setStatus(/** @type {any} */ status) {
    state.status = status;
    // /api/status is c2's state as the server last heard it; the stream's `c2` updates
    // change it in between.
    if (status.mode || status.aborted) {
      state.c2 = { ...(state.c2 || {}), mode: status.mode || state.c2?.mode, abort_active: status.aborted,
        changed_by: status.aborted_by || (status.aborted ? state.c2?.changed_by : "") };
    }
    renderBanners();
  }

  function applyC2(/** @type {any} */ c2) {
    const changed = !state.c2 || state.c2.abort_active !== c2.abort_active;
    state.c2 = c2;
    renderBanners();
    if (changed) { state.proposalsDirty = true; page.scheduleRender(); }
  }

  function renderBanners() {
    const mode = state.c2?.mode || state.status?.mode || null;
    const banner = $("mode-banner");
    const words = [];
    if (mode) words.push(String(mode).toUpperCase());
    if (state.status && !state.status.live) words.push("REPLAY · read-only");
    // A run without c2 (no c2 config) proposes nothing; the page says so instead of
    // leaving an operator to wait for proposals that cannot come.
    if (state.status?.response_stage) words.push("NO RESPONSE STAGE");
    banner.textContent = words.join(" · ");
    banner.dataset.mode = mode || "";
    banner.className = `mode-banner mode-${mode || "unknown"}` + (words.length ? "" : " hidden");
    banner.title = {
      simulation: "a simulation: simulated feed, simulated operators; nothing here is real",
      exercise: "an exercise: simulated feed, real people decide",
      live: "LIVE: real sensors, real effectors",
    }[mode] || "";
    if (state.status?.response_stage) banner.title = [banner.title, state.status.response_stage].filter(Boolean).join("; ");

    const abort = $("abort-banner");
    if (aborted()) {
      const who = state.c2.changed_by ? ` by ${state.c2.changed_by}` : "";
      const why = state.c2.reason && state.c2.reason !== "abort" ? ` (${state.c2.reason})` : "";
      abort.textContent = `GLOBAL ABORT in force${who}${why}: every pending proposal is cancelled and no order is issued until a commander resumes.`;
      abort.classList.remove("hidden");
    } else {
      abort.textContent = "";
      abort.classList.add("hidden");
    }
    const acting = canDecide(state) && live();
    $("abort-button").classList.toggle("hidden", !acting || aborted());
    $("resume-button").classList.toggle("hidden", !acting || !aborted() || state.user?.role !== "commander");
    renderAuthenticator();
  }

  // ---- the authenticator -----------------------------------------------------------------

  async function loadCredentials() {
    if (!canDecide(state)) { state.credentials = null; renderAuthenticator(); return; }
    try {
      state.credentials = await api("/api/webauthn/credentials");
    } catch (error) {
      state.credentials = null;
      notice(`authenticator: ${/** @type {Error} */ (error).message}`, "error");
    }
    renderAuthenticator();
  }

  function renderAuthenticator() {
    const box = $("authenticator");
    const status = $("authenticator-status");
    const button = $("register-button");
    if (!canDecide(state) || state.credentials === null) { box.classList.add("hidden"); return; }
    box.classList.remove("hidden");
    const enrolled = state.credentials.credential_ids.length > 0;
    box.dataset.enrolled = String(enrolled);
    const rpId = state.credentials.rp_id;
    const words = [];
    if (location.hostname !== rpId) {
      words.push(`open the page as http://${rpId}:${location.port || 80}/ to use an authenticator`);
    } else {
      words.push(enrolled ? "authenticator enrolled" : "no authenticator enrolled");
    }
    status.textContent = words.join(" · ");
    button.classList.toggle("hidden", enrolled);
  }

  async function register() {
    const button = /** @type {HTMLButtonElement} */ ($("register-button"));
    button.disabled = true;
    notice("registering: confirm on your authenticator…");
    try {
      const enrolled = await registerAuthenticator(api);
      localStorage.setItem(`hz-credential-${me()}`, enrolled.key_id);
      notice(`authenticator enrolled for ${enrolled.operator_id} (${enrolled.role}, ${enrolled.nation})`, "ok");
    } catch (error) {
      notice(`registration failed: ${/** @type {Error} */ (error).message}`, "error");
    } finally {
      button.disabled = false;
    }
    await loadCredentials();
  }

  /** The credential to sign with: the one this browser enrolled, else the first. */
  function credentialId() {
    const ids = state.credentials?.credential_ids || [];
    const mine = localStorage.getItem(`hz-credential-${me()}`);
    return ids.includes(mine) ? mine : ids[0];
  }

  // ---- signing ---------------------------------------------------------------------------

  /**
   * Sign a decision on ``target`` (a proposal id, "abort" or "resume") with the operator's
   * authenticator and hand it to c2. Resolves to c2's answer {accepted, code, reason}.
   */
  async function decide(/** @type {string} */ target, verdict = "approve", comment = "") {
    if (!state.credentials) await loadCredentials();
    const credential = credentialId();
    if (!credential) {
      return { accepted: false, code: "no-authenticator",
        reason: "no authenticator enrolled: register one first (button in the header)" };
    }
    state.signing.add(target);
    state.proposalsDirty = true;
    page.scheduleRender();
    try {
      const prepared = await api("/api/decisions/challenge", { method: "POST",
        body: JSON.stringify({ target, verdict, comment, credential_id: credential }) });
      const assertion = await signWithAuthenticator(prepared.challenge,
        prepared.allow_credentials.length ? prepared.allow_credentials : [credential], prepared.rp_id);
      const answer = await api("/api/decisions", { method: "POST",
        body: JSON.stringify({ decision_id: prepared.decision.decision_id, assertion }) });
      if (answer.proposal) state.proposals.set(answer.proposal.proposal_id, answer.proposal);
      return { accepted: answer.accepted, code: answer.code, reason: answer.reason || "" };
    } catch (error) {
      const failure = /** @type {any} */ (error);
      const code = failure.status ? `http-${failure.status}` : "error";
      return { accepted: false, code, reason: failure.detail || failure.message };
    } finally {
      state.signing.delete(target);
      state.proposalsDirty = true;
      page.scheduleRender();
    }
  }

  async function decideOn(/** @type {any} */ proposal, /** @type {string} */ verdict) {
    state.refusals.delete(proposal.proposal_id);
    const answer = await decide(proposal.proposal_id, verdict);
    let text = answer.accepted ? `your ${verdict} was counted by c2` : `c2 refused your ${verdict}: ${answer.reason}`;
    const now = state.proposals.get(proposal.proposal_id);
    if (answer.accepted && now?.state === "void") {
      // Counted, but the order was refused: the track left what was proposed, or the rules
      // of engagement failed at decision time (c2's reason is its last refusal).
      text = `your ${verdict} was counted, but c2 voided the proposal: ${(now.refusals || []).slice(-1)[0] || "see c2's refusals"}`;
    }
    state.refusals.set(proposal.proposal_id, { accepted: answer.accepted && now?.state !== "void", text });
    state.proposalsDirty = true;
    page.scheduleRender();
  }

  async function abortOrResume(/** @type {"abort" | "resume"} */ target) {
    const question = target === "abort"
      ? "GLOBAL ABORT: cancel every pending proposal and stop every order?"
      : "Lift the global abort?";
    if (!window.confirm(question)) return;
    notice(`${target}: confirm on your authenticator…`);
    const answer = await decide(target, "approve", target === "abort" ? "global abort from the COP" : "");
    if (answer.accepted) {
      notice(`${target} accepted by c2`, "ok");
    } else {
      notice(`c2 refused your ${target}: ${answer.reason}`, "error");
    }
    try { setStatus(await api("/api/status")); } catch { /* the stream will tell */ }
  }

  /** c2's answer to a decision, from the stream: shown when it is about this user's. */
  function applyOutcome(/** @type {any} */ outcome) {
    if (outcome.operator_id !== me() || outcome.accepted) return;
    for (const proposal of state.proposals.values()) {
      if (proposal.content_hash === outcome.proposal_hash && !state.refusals.has(proposal.proposal_id)) {
        state.refusals.set(proposal.proposal_id, { accepted: false, text: `c2 refused your decision: ${outcome.reason}` });
        state.proposalsDirty = true;
      }
    }
  }

  // ---- the queue -------------------------------------------------------------------------

  function setHighlight(/** @type {string | null} */ trackId) {
    if (state.highlight === trackId) return;
    state.highlight = trackId;
    for (const card of document.querySelectorAll("#proposals .card")) {
      card.classList.toggle("highlighted", Boolean(trackId) && /** @type {HTMLElement} */ (card).dataset.trackId === trackId);
    }
    page.redrawTracks();
  }

  function timingText(/** @type {any} */ proposal) {
    const parts = [];
    if (proposal.state === "pending" || proposal.state === "roe_failed") {
      parts.push(countdownText(remaining(proposal), "expires in", "expired"));
    }
    const effect = secondsUntil(state, proposal.effect_window_start) ?? proposal.time_to_effect_s ?? null;
    if (effect !== null && proposal.state !== "expired") parts.push(countdownText(effect, "effect window opens in", "effect window open"));
    return parts.filter(Boolean).join(" · ");
  }

  function counterText(/** @type {any} */ proposal) {
    const approvals = proposal.approvals || [];
    const needed = proposal.approvals_needed;
    const who = approvals.length ? ` (${approvals.join(", ")})` : "";
    const counted = needed && ["pending", "ordered", "rejected", "expired", "cancelled"].includes(proposal.state);
    const count = counted ? `approvals ${approvals.length}/${needed}${proposal.commander_needed ? ", one a commander" : ""}${who}` : "";
    let status;
    switch (proposal.state) {
      case "pending": status = proposal.missing || "awaiting c2"; break;
      case "roe_failed": status = `not decidable: rules of engagement fail (${(proposal.failed_rules || []).join(", ")})`; break;
      case "ordered": status = "ordered by c2"; break;
      case "rejected": status = "rejected"; break;
      case "expired": status = "expired before enough approvals"; break;
      case "void": status = "void: the track left what was proposed, or the rules failed at decision time"; break;
      case "cancelled": status = "cancelled by the global abort"; break;
      default: status = proposal.state;
    }
    return { count, status };
  }

  function renderCard(/** @type {{proposal: any, earlier: number, group: string, otherOrders?: any[], otherEffects?: any[]}} */ entry) {
    const { proposal } = entry;
    const decidable = mayDecide(proposal);
    const track = state.tracks.get(proposal.track_id);
    const card = element("div", {
      class: `card ${proposal.effect_class} state-${proposal.state}` + (decidable ? " decidable" : "")
        + (state.highlight === proposal.track_id ? " highlighted" : ""),
      "data-proposal-id": proposal.proposal_id, "data-state": proposal.state,
      "data-group": entry.group, "data-track-id": proposal.track_id,
    });
    const name = track ? trackName(track, state.status?.nation || state.user?.nation || "") : proposal.track_id;
    card.append(element("div", { class: "card-head" },
      element("b", {}, `${proposal.action} ${name}`), " ", jumpButton(proposal.track_id, page.jump), " ",
      element("span", { class: `state-badge ${proposal.state}` }, STATE_WORDS[proposal.state] || proposal.state),
      entry.earlier ? element("span", { class: "earlier", title: "earlier proposals of the same track and effector" },
        ` +${entry.earlier} earlier`) : ""));
    card.append(element("div", { class: "target" },
      `${className(proposal.target_class)} (${identityName(proposal.standard_identity)}) · ${proposal.effector_id} · ${proposal.effect_class.replaceAll("_", "-")}`));
    card.append(element("div", { class: "timing", "data-expires-at": proposal.expires_at,
      "data-effect-at": proposal.effect_window_start }, timingText(proposal)));
    if ((proposal.rationale || []).length) {
      // c2's words with the page's names: "PL TN101", "one-way attack drone".
      const nameOf = (/** @type {string} */ id) => {
        const known = state.tracks.get(id);
        return known ? trackName(known, state.status?.nation || state.user?.nation || "") : null;
      };
      card.append(element("ul", { class: "rationale" }, ...proposal.rationale.map(
        (/** @type {string} */ line) => element("li", {}, humanize(line, nameOf, [proposal.track_id])))));
    }
    const failed = (proposal.roe_checks || []).filter((c) => !c.passed);
    if (failed.length) {
      card.append(element("div", { class: "failed-rules" },
        ...failed.map((c) => element("div", {}, element("b", {}, `ROE FAIL ${c.rule}`), ` ${c.detail}`))));
    }
    const table = element("table", { class: "roe" });
    for (const check of proposal.roe_checks || []) {
      table.append(element("tr", {}, element("td", {}, check.rule),
        element("td", { class: check.passed ? "pass" : "fail" }, check.passed ? "pass" : "FAIL"),
        element("td", {}, check.detail)));
    }
    const passed = (proposal.roe_checks || []).length - failed.length;
    card.append(element("details", { class: "roe-checks" },
      element("summary", {}, `rules of engagement ${passed}/${(proposal.roe_checks || []).length} pass`), table));
    const { count, status } = counterText(proposal);
    card.append(element("div", { class: "counter" }, count ? `${count} · ` : "", element("span", { class: "missing" }, status)));
    for (const order of proposal.orders || []) {
      card.append(element("div", { class: "order", "data-order-id": order.order_id },
        element("b", {}, "ORDER "), `${order.order_id}: ${order.effector_id} → ${name}, signed by ${order.issuer}`));
    }
    for (const order of entry.otherOrders || []) {
      card.append(element("div", { class: "order earlier-order", "data-order-id": order.order_id },
        element("b", {}, "ORDER (earlier proposal) "), `${order.order_id}: ${order.effector_id} → ${name}, signed by ${order.issuer}`));
    }
    for (const effect of proposal.effects || []) {
      card.append(element("div", { class: `effect ${effect.outcome}`, "data-order-id": effect.order_id },
        element("b", {}, "EFFECT "), effect.summary));
    }
    for (const effect of entry.otherEffects || []) {
      card.append(element("div", { class: `effect earlier-effect ${effect.outcome}`, "data-order-id": effect.order_id },
        element("b", {}, "EFFECT (earlier proposal) "), effect.summary));
    }
    if ((proposal.refusals || []).length) {
      card.append(element("details", { class: "c2-refusals" },
        element("summary", {}, `c2 refused ${proposal.refusals.length} decision(s)`),
        ...proposal.refusals.map((text) => element("div", {}, text))));
    }
    const answer = state.refusals.get(proposal.proposal_id);
    if (answer) card.append(element("div", { class: answer.accepted ? "answer accepted" : "answer refusal" }, answer.text));
    if ((proposal.approvals || []).includes(me())) card.append(element("div", { class: "mine" }, "you approved"));
    if (decidable) {
      const busy = state.signing.has(proposal.proposal_id);
      const approve = element("button", { class: "approve", onclick: () => decideOn(proposal, "approve") }, busy ? "signing…" : "approve");
      const reject = element("button", { class: "reject", onclick: () => decideOn(proposal, "reject") }, "reject");
      if (busy) { approve.setAttribute("disabled", ""); reject.setAttribute("disabled", ""); }
      card.append(element("div", { class: "actions" }, approve, reject));
    } else if (!live() && proposal.state === "pending" && canDecide(state)) {
      card.append(element("div", { class: "read-only" }, "finished run: no c2 takes decisions"));
    }
    card.addEventListener("mouseenter", () => setHighlight(proposal.track_id));
    card.addEventListener("mouseleave", () => setHighlight(state.pinned));
    card.addEventListener("click", (event) => {
      if (/** @type {HTMLElement} */ (event.target).closest("button, summary")) return;
      state.pinned = state.pinned === proposal.track_id ? null : proposal.track_id;
      setHighlight(state.pinned || proposal.track_id);
      if (state.pinned) page.focusTrack(proposal.track_id);
    });
    return card;
  }

  /** What a card shows, but its countdowns (refreshCountdowns) and highlight (setHighlight). */
  function cardKey(/** @type {{proposal: any, earlier: number, group: string, otherOrders?: any[], otherEffects?: any[]}} */ entry) {
    const { expires_in_s: _expires, time_to_effect_s: _effect, ...shown } = entry.proposal;
    const track = state.tracks.get(shown.track_id);
    return JSON.stringify([shown, entry.earlier, entry.otherOrders || [], entry.otherEffects || [], mayDecide(entry.proposal), state.signing.has(shown.proposal_id),
      state.refusals.get(shown.proposal_id) || null, track ? track.track_number : null]);
  }

  /** @type {Map<string, {key: string, node: HTMLElement}>} the card shown per group */
  const shownCards = new Map();

  // Only the cards that changed are replaced, in place, and the queue is reordered only when
  // its order changed: a button replaced or moved under the pointer would lose the click.
  function renderQueue() {
    const box = $("proposals");
    // In a replay: the proposals as they stood then (cop.js fetches them).
    // Urgency: time left, then the track's threat (as the picture shows it now).
    const cards = proposalCards(shownProposals(state).values(),
      (trackId) => state.tracks.get(trackId)?.threat_score ?? 0);
    const nodes = [];
    const before = [...box.children];
    for (const entry of cards) {
      const key = cardKey(entry);
      const kept = shownCards.get(entry.group);
      if (kept && kept.key === key) {
        kept.node.classList.toggle("highlighted", Boolean(state.highlight) && kept.node.dataset.trackId === state.highlight);
        nodes.push(kept.node);
        continue;
      }
      const node = renderCard(entry);
      shownCards.set(entry.group, { key, node });
      if (kept && kept.node.parentNode === box) {
        before[before.indexOf(kept.node)] = node;
        kept.node.replaceWith(node);
      }
      nodes.push(node);
    }
    const groups = new Set(cards.map((c) => c.group));
    for (const group of [...shownCards.keys()]) if (!groups.has(group)) shownCards.delete(group);
    if (before.length !== nodes.length || before.some((node, i) => node !== nodes[i])) box.replaceChildren(...nodes);
    const open = cards.filter((c) => mayDecide(c.proposal)).length;
    $("queue-count").textContent = cards.length ? `(${open} to decide, ${cards.length} in all)` : "";
  }

  /** The countdowns follow the picture's clock; a card whose time ran out loses its buttons. */
  function refreshCountdowns() {
    let expired = false;
    for (const card of document.querySelectorAll("#proposals .card")) {
      const proposal = (state.replay?.proposals || state.proposals).get(/** @type {HTMLElement} */ (card).dataset.proposalId);
      if (!proposal) continue;
      const timing = card.querySelector(".timing");
      if (timing) timing.textContent = timingText(proposal);
      if (card.classList.contains("decidable") && !mayDecide(proposal)) expired = true;
    }
    if (expired) { state.proposalsDirty = true; page.scheduleRender(); }
  }

  $("register-button").onclick = register;
  $("abort-button").onclick = () => abortOrResume("abort");
  $("resume-button").onclick = () => abortOrResume("resume");

  return {
    setStatus, applyC2, applyOutcome, loadCredentials, renderBanners, renderQueue,
    refreshCountdowns, decide, setHighlight, notice,
  };
}
