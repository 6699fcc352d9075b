// @ts-check
// One naming scheme on every part of the page (map labels, the track list, alerts,
// proposal cards, the details panel): a track is "<nation> TN<number>", and classes and
// identities are words, never the enum names the messages carry.

/** Human words for `TargetClass` values (hotzone.types.enums). */
export const CLASS_NAMES = {
  airliner: "airliner", light_aircraft: "light aircraft", helicopter: "helicopter",
  small_uav: "small UAV", one_way_attack_drone: "one-way attack drone",
  cruise_missile: "cruise missile", ballistic_missile: "ballistic missile",
  bird_flock: "bird flock", ground_vehicle: "ground vehicle", person: "person",
  vessel: "vessel", clutter: "clutter", unknown: "unknown",
};

/** Human words for `StandardIdentity` values. */
export const IDENTITY_NAMES = {
  pending: "pending", unknown: "unknown", assumed_friend: "assumed friend", friend: "friend",
  neutral: "neutral", suspect: "suspect", hostile: "hostile",
};

/** Where a class moves: the domain filter's air, land and sea. */
export const CLASS_DOMAINS = {
  ground_vehicle: "land", person: "land", vessel: "sea",
};

/** @param {string | null | undefined} value */
export const className = (value) =>
  /** @type {Record<string, string>} */ (CLASS_NAMES)[value || "unknown"] || String(value).replaceAll("_", " ");

/** @param {string | null | undefined} value */
export const identityName = (value) =>
  /** @type {Record<string, string>} */ (IDENTITY_NAMES)[value || "pending"] || String(value).replaceAll("_", " ");

/** @param {string | null | undefined} targetClass */
export const domainOf = (targetClass) =>
  /** @type {Record<string, string>} */ (CLASS_DOMAINS)[targetClass || ""] || "air";

/**
 * The nation whose track number a track carries: an ally's track is named ORIGIN:id by the
 * API; an own track is the server's nation's.
 * @param {{track_id: string, origin_nation?: string}} track
 * @param {string} ownNation
 */
export function trackNation(track, ownNation) {
  if (track.origin_nation) return track.origin_nation;
  const colon = track.track_id.indexOf(":");
  return colon > 0 ? track.track_id.slice(0, colon) : ownNation;
}

/**
 * "PL TN101": the one name of a track everywhere on the page.
 * @param {{track_id: string, track_number: number, origin_nation?: string}} track
 * @param {string} ownNation
 */
export function trackName(track, ownNation) {
  const nation = trackNation(track, ownNation);
  return nation ? `${nation} TN${track.track_number}` : `TN${track.track_number}`;
}

const ENUM_WORDS = new RegExp(`\\b(${[...Object.keys(CLASS_NAMES), ...Object.keys(IDENTITY_NAMES)]
  .filter((word) => word.includes("_")).join("|")})\\b`, "g");

/**
 * A text from the pipeline (an alert's summary, a reason) in the page's words: track ids
 * replaced by track names, enum names by words.
 * @param {string} text
 * @param {(trackId: string) => string | null} nameOf the name of a track id, if known
 * @param {string[]} trackIds the ids that may appear in the text
 */
export function humanize(text, nameOf, trackIds = []) {
  let result = text.replace(ENUM_WORDS, (word) =>
    /** @type {Record<string, string>} */ ({ ...CLASS_NAMES, ...IDENTITY_NAMES })[word] || word);
  for (const trackId of trackIds) {
    const name = nameOf(trackId);
    if (!name || !trackId) continue;
    result = result.replace(new RegExp(`(^|[^\\w:-])${trackId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w-])`, "g"),
      (_match, before) => `${before}${name}`);
  }
  return result;
}
