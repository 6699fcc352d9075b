// @ts-check
// The page's HTTP calls: JSON in and out, the session's bearer token, the nation view
// (`?view_as=`), and errors that carry the server's reason.

/** An HTTP error: `status` and the server's `detail` (c2's reason, for a refused decision). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} detail
   */
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

/**
 * What the calls need of the page: its session token and nation view, read at each call.
 * @typedef {{token: string | null, viewAs: string}} Session
 */

/**
 * @param {Session} session
 */
export function createApi(session) {
  /**
   * A JSON call; an HTTP error rejects with an ApiError.
   * @param {string} path
   * @param {RequestInit} [options]
   * @returns {Promise<any>}
   */
  async function api(path, options = {}) {
    /** @type {Record<string, string>} */
    const headers = { "content-type": "application/json" };
    if (session.token) headers.authorization = `Bearer ${session.token}`;
    const response = await fetch(path, { ...options, headers });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const detail = typeof body.detail === "string" ? body.detail
        : body.detail ? JSON.stringify(body.detail) : response.statusText;
      throw new ApiError(response.status, detail);
    }
    return response.json();
  }

  /** ``path`` for the nation view the page shows (the server only narrows with it). */
  function withView(/** @type {string} */ path) {
    if (!session.viewAs) return path;
    return path + (path.includes("?") ? "&" : "?") + `view_as=${session.viewAs}`;
  }

  /** Acknowledge an alert (POST /api/alerts/{id}/acknowledge: audited by c2, nation-checked). */
  const acknowledge = (/** @type {string} */ alertId) =>
    api(`/api/alerts/${encodeURIComponent(alertId)}/acknowledge`, { method: "POST", body: "{}" });

  return { api, withView, acknowledge };
}
