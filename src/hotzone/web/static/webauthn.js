// @ts-check
// The operator's WebAuthn authenticator on the page (docs/operators.md): enrolling it, and
// signing a decision with it. The private key never leaves the authenticator; the server
// gets the public key at registration and one assertion per decision.
//
// An ES module without a build step:
//   import { registerAuthenticator, signWithAuthenticator } from "/static/webauthn.js";
//
// The challenge of a decision is SHA-256 of its signing bytes, computed by the server
// (hotzone.types.signing.decision_challenge) and handed to signWithAuthenticator as
// base64url; the assertion it returns has the fields of hotzone.types.WebAuthnAssertion.

/**
 * A JSON fetch like the COP page's `api(path, options)`: resolves to the parsed body,
 * rejects on an HTTP error.
 * @typedef {(path: string, options?: RequestInit) => Promise<any>} FetchJson
 */

/**
 * The fields of hotzone.types.WebAuthnAssertion, all base64url without padding.
 * @typedef {{
 *   credential_id: string,
 *   authenticator_data: string,
 *   client_data_json: string,
 *   signature: string,
 *   user_handle: string | null,
 * }} Assertion
 */

/**
 * Base64url without padding, as WebAuthn JSON writes binary fields.
 * @param {ArrayBuffer | ArrayBufferView} data
 * @returns {string}
 */
export function toBase64url(data) {
  const bytes = data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The bytes of a base64url string (padded or not).
 * @param {string} text
 * @returns {ArrayBuffer}
 */
export function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/**
 * @param {any} descriptor
 * @returns {PublicKeyCredentialDescriptor}
 */
function credentialDescriptor(descriptor) {
  return { ...descriptor, id: fromBase64url(descriptor.id) };
}

/**
 * Enroll a new authenticator for the logged-in user: asks the server for registration
 * options, has the authenticator make a credential (the user verifies, e.g. by PIN or
 * fingerprint), and sends the attestation back, where it is checked and the credential's
 * public key enrolled. Resolves to the server's answer ({key_id, operator_id, role, nation}).
 * @param {FetchJson} fetchJson
 * @returns {Promise<{key_id: string, operator_id: string, role: string, nation: string}>}
 */
export async function registerAuthenticator(fetchJson) {
  const options = await fetchJson("/api/webauthn/register/options", { method: "POST" });
  /** @type {PublicKeyCredentialCreationOptions} */
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: (options.excludeCredentials || []).map(credentialDescriptor),
  };
  const credential = /** @type {PublicKeyCredential | null} */ (
    await navigator.credentials.create({ publicKey })
  );
  if (credential === null) throw new Error("the authenticator made no credential");
  const response = /** @type {AuthenticatorAttestationResponse} */ (credential.response);
  const body = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      attestationObject: toBase64url(response.attestationObject),
      transports: typeof response.getTransports === "function" ? response.getTransports() : [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment,
  };
  return fetchJson("/api/webauthn/register", { method: "POST", body: JSON.stringify(body) });
}

/**
 * Have the operator's authenticator sign a decision's challenge with one of the operator's
 * enrolled credentials (GET /api/webauthn/credentials gives their ids and the rp id).
 * User verification is required. Resolves to the assertion for Decision.assertion.
 * @param {string} challengeB64url the decision's challenge, base64url
 * @param {string[]} credentialIds the operator's credential ids, base64url
 * @param {string} rpId the relying party id the credentials were made for
 * @returns {Promise<Assertion>}
 */
export async function signWithAuthenticator(challengeB64url, credentialIds, rpId) {
  if (credentialIds.length === 0) throw new Error("no authenticator enrolled for this operator");
  const credential = /** @type {PublicKeyCredential | null} */ (
    await navigator.credentials.get({
      publicKey: {
        challenge: fromBase64url(challengeB64url),
        rpId,
        allowCredentials: credentialIds.map((id) => ({ type: "public-key", id: fromBase64url(id) })),
        userVerification: "required",
        timeout: 120000,
      },
    })
  );
  if (credential === null) throw new Error("the authenticator gave no assertion");
  const response = /** @type {AuthenticatorAssertionResponse} */ (credential.response);
  return {
    credential_id: toBase64url(credential.rawId),
    authenticator_data: toBase64url(response.authenticatorData),
    client_data_json: toBase64url(response.clientDataJSON),
    signature: toBase64url(response.signature),
    user_handle: response.userHandle ? toBase64url(response.userHandle) : null,
  };
}
