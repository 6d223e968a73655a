// The fake FCM's behaviour on Node's native HTTP/2 server, for benchmarks that the Python
// fake (tests/fakes/fcm.py) would limit. Same rules: the OAuth2 token endpoint verifying the
// RS256 assertion, messages:send checking the bearer token, project and message, FCM's error
// bodies. It speaks node_fake.mjs's protocol, faults and per-token counts included (on
// messages:send over HTTP/2; a share failure hits only messages that pass every check); its
// own command is a service account to trust. Access tokens carry their expiry and a MAC
// under the fake's secret, so that any worker accepts a token another one granted.
import crypto from "node:crypto";
import fs from "node:fs";
import http2 from "node:http2";

import { arrive, reply, runFake, shareFailure } from "./node_fake.mjs";

// Node builds an error (with a stack) for each response whose write completes after its
// stream closed, which most do: without stacks that costs nothing.
Error.stackTraceLimit = 0;

const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const FCM_SCOPES = [
  "https://www.googleapis.com/auth/firebase.messaging",
  "https://www.googleapis.com/auth/cloud-platform",
];
const FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const INVALID_TOKEN_MESSAGE = "The registration token is not a valid FCM registration token";
const SHARE_FAILURE_MESSAGES = {
  429: "Quota exceeded for quota metric 'Send requests'.",
  500: "Internal error encountered.",
  503: "The service is currently unavailable.",
};
const STATUS_NAMES = {
  400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
};
const MESSAGE_KEYS = new Set(["name", "data", "notification", "android", "webpush", "apns",
  "fcm_options", "token", "topic", "condition", "fid"]);
const TARGETS = ["token", "topic", "condition", "fid"];
const NOTIFICATION_KEYS = new Set(["title", "body", "image"]);
const ANDROID_KEYS = new Set(["collapse_key", "priority", "ttl", "restricted_package_name", "data",
  "notification", "fcm_options", "direct_boot_ok", "bandwidth_constrained_ok",
  "restricted_satellite_ok"]);
const ANDROID_NOTIFICATION_KEYS = new Set(["title", "body", "icon", "color", "sound", "tag",
  "click_action", "body_loc_key", "body_loc_args", "title_loc_key", "title_loc_args", "channel_id",
  "ticker", "sticky", "event_time", "local_only", "notification_priority", "default_sound",
  "default_vibrate_timings", "default_light_settings", "vibrate_timings", "visibility",
  "notification_count", "light_settings", "image", "proxy"]);
const STRING_FIELDS = new Set(["title", "body", "icon", "sound", "tag", "image", "color",
  "channel_id"]);
const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
const TTL = /^(\d+)(\.\d{1,9})?s$/;
const TOKEN = /^[A-Za-z0-9_:.\-]{16,4096}$/;
const TOPIC = /^[a-zA-Z0-9\-_.~%]+$/;
const MAX_PAYLOAD_BYTES = 4096;
const MAX_TTL_SECONDS = 2419200;

class Refusal extends Error {
  constructor(status, message, errorCode = null, field = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
    this.field = field;
    this.retryAfter = retryAfter;
  }

  body() {
    const error = { code: this.status, message: this.message, status: STATUS_NAMES[this.status] || "UNKNOWN" };
    const details = [];
    if (this.errorCode) details.push({ "@type": FCM_ERROR_TYPE, errorCode: this.errorCode });
    if (this.field) {
      details.push({
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        fieldViolations: [{ field: this.field, description: this.message }],
      });
    }
    if (details.length) error.details = details;
    return JSON.stringify({ error });
  }
}

const invalid = (message, field = null) => new Refusal(400, message, "INVALID_ARGUMENT", field);

const accounts = new Map();
const projects = new Set();
const counts = { requests: 0, accepted: 0, validated: 0, token_grants: 0, token_refusals: 0, errors: {} };
let config;
let staticTokens;
let tokenUri = "";
let sequence = 0;

function base64url(text) {
  return Buffer.from(text, "base64url");
}

function verifyAssertion(assertion) {
  const parts = (assertion || "").split(".");
  if (parts.length !== 3) throw new Error("malformed assertion");
  let header;
  let claims;
  try {
    header = JSON.parse(base64url(parts[0]).toString());
    claims = JSON.parse(base64url(parts[1]).toString());
  } catch {
    throw new Error("malformed assertion");
  }
  const account = accounts.get(claims.iss);
  if (!account) throw new Error("Invalid JWT: unknown issuer");
  if (header.alg !== "RS256" || header.kid !== account.keyId) throw new Error("Invalid JWT Signature.");
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  if (!crypto.verify("RSA-SHA256", signed, account.publicKey, base64url(parts[2]))) {
    throw new Error("Invalid JWT Signature.");
  }
  const now = Date.now() / 1000;
  if (![GOOGLE_TOKEN_URI, tokenUri].includes(claims.aud)) throw new Error("Invalid JWT: audience");
  for (const claim of ["iat", "exp", "scope"]) {
    if (claims[claim] === undefined) throw new Error(`Invalid JWT: no ${claim}`);
  }
  if (claims.exp <= now) throw new Error("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe");
  if (claims.exp - claims.iat > 3600 || claims.iat > now + 60) {
    throw new Error("Invalid JWT: Token must be a short-lived token (60 minutes)");
  }
  if (!String(claims.scope).split(" ").some((scope) => FCM_SCOPES.includes(scope))) {
    throw new Error("Invalid JWT: scope does not allow FCM");
  }
}

function token(body) {
  try {
    const form = new URLSearchParams(body.toString());
    if (form.get("grant_type") !== JWT_BEARER) throw new Error(`grant_type must be ${JWT_BEARER}`);
    verifyAssertion(form.get("assertion"));
  } catch (error) {
    counts.token_refusals += 1;
    return [400, JSON.stringify({ error: "invalid_grant", error_description: error.message })];
  }
  counts.token_grants += 1;
  const expires = Math.floor(Date.now() / 1000 + config.token_lifetime);
  const grant = `${expires}.${crypto.randomBytes(18).toString("base64url")}`;
  const accessToken = `ya29.fake-${grant}.${mac(grant)}`;
  return [200, JSON.stringify({ access_token: accessToken, expires_in: config.token_lifetime, token_type: "Bearer" })];
}

function mac(text) {
  return crypto.createHmac("sha256", config.secret).update(text).digest("base64url");
}

/** When the access token expires (seconds since the epoch), or undefined when it is not ours.
 * A client sends the same token for an hour: its MAC is checked once (as the APNs fake checks a
 * JWT once), and tokens seen are forgotten when there are too many to keep. */
const checkedTokens = new Map();
const CHECKED_TOKENS_KEPT = 1000;

function expiry(accessToken) {
  if (staticTokens.has(accessToken)) return staticTokens.get(accessToken);
  if (checkedTokens.has(accessToken)) return checkedTokens.get(accessToken);
  const match = /^ya29\.fake-((\d+)\.[\w-]+)\.([\w-]+)$/.exec(accessToken);
  const expires = match && match[3] === mac(match[1]) ? Number(match[2]) : undefined;
  if (checkedTokens.size >= CHECKED_TOKENS_KEPT) checkedTokens.clear();
  checkedTokens.set(accessToken, expires);
  return expires;
}

function checkData(data, where) {
  if (data === undefined || data === null) return;
  if (typeof data !== "object" || Array.isArray(data)) throw invalid(`Invalid value at '${where}'`);
  let index = 0;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== "string") {
      throw invalid(`Invalid value at '${where}[${index}].value' (TYPE_STRING)`, `${where}[${index}].value`);
    }
    if (["from", "message_type", "notification"].includes(key) || key.startsWith("google.") || key.startsWith("gcm.")) {
      throw invalid(`Invalid data payload key: ${key}`, where);
    }
    index += 1;
  }
}

function checkStrings(value, allowed, where) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`Invalid value at '${where}'`);
  for (const [key, item] of Object.entries(value)) {
    if (!allowed.has(key)) throw invalid(`Invalid JSON payload received. Unknown name "${key}" at '${where}'`);
    if (STRING_FIELDS.has(key) && typeof item !== "string") throw invalid(`Invalid value at '${where}.${key}' (TYPE_STRING)`);
  }
}

function checkAndroid(android) {
  const where = "message.android";
  if (typeof android !== "object" || android === null || Array.isArray(android)) throw invalid(`Invalid value at '${where}'`);
  for (const key of Object.keys(android)) {
    if (!ANDROID_KEYS.has(key)) throw invalid(`Invalid JSON payload received. Unknown name "${key}" at '${where}'`);
  }
  if (android.priority !== undefined && !["NORMAL", "HIGH"].includes(String(android.priority).toUpperCase())) {
    throw invalid(`Invalid value at '${where}.priority'`, where);
  }
  if (android.ttl !== undefined) {
    const match = typeof android.ttl === "string" ? TTL.exec(android.ttl) : null;
    if (!match || Number(match[1]) > MAX_TTL_SECONDS) throw invalid(`Invalid value at '${where}.ttl' (Duration)`);
  }
  for (const key of ["collapse_key", "restricted_package_name"]) {
    if (key in android && typeof android[key] !== "string") throw invalid(`Invalid value at '${where}.${key}' (TYPE_STRING)`);
  }
  checkData(android.data, `${where}.data`);
  if (android.notification !== undefined) checkStrings(android.notification, ANDROID_NOTIFICATION_KEYS, `${where}.notification`);
}

function checkMessage(message) {
  for (const key of Object.keys(message)) {
    if (!MESSAGE_KEYS.has(key)) throw invalid(`Invalid JSON payload received. Unknown name "${key}"`);
  }
  const targets = TARGETS.filter((target) => message[target] !== undefined && message[target] !== null);
  if (targets.length !== 1) throw invalid("Exactly one of token, topic or condition must be specified.");
  if (message.token !== undefined && (typeof message.token !== "string" || !TOKEN.test(message.token))) {
    throw invalid(INVALID_TOKEN_MESSAGE, "message.token");
  }
  if (message.topic !== undefined && (typeof message.topic !== "string" || !TOPIC.test(message.topic))) {
    throw invalid("Invalid topic name.", "message.topic");
  }
  checkData(message.data, "message.data");
  if (message.notification !== undefined) checkStrings(message.notification, NOTIFICATION_KEYS, "message.notification");
  if (message.android !== undefined) checkAndroid(message.android);
  const sized = {};
  for (const [key, value] of Object.entries(message)) if (!TARGETS.includes(key)) sized[key] = value;
  const size = Buffer.byteLength(JSON.stringify(sized));
  if (size > MAX_PAYLOAD_BYTES) throw invalid(`Message is too big: ${size} bytes (limit ${MAX_PAYLOAD_BYTES}).`);
}

/** A send's body as JSON, or UNPARSABLE; parsed once, for its token and its checks. */
const UNPARSABLE = Symbol("unparsable");

function parse(body) {
  try {
    return JSON.parse(body.toString());
  } catch {
    return UNPARSABLE;
  }
}

function send(projectId, authorization, request) {
  counts.requests += 1;
  if (!authorization || !authorization.startsWith("Bearer ")) {
    throw new Refusal(401, "Request is missing required authentication credential.");
  }
  const expires = expiry(authorization.slice(7));
  if (expires === undefined || expires <= Date.now() / 1000) {
    throw new Refusal(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.");
  }
  if (!projects.has(projectId)) throw new Refusal(404, "Requested entity was not found.");
  if (request === UNPARSABLE) throw new Refusal(400, "Invalid JSON payload received.");
  if (typeof request !== "object" || request === null || Array.isArray(request)) throw new Refusal(400, "Invalid JSON payload received.");
  for (const key of Object.keys(request)) {
    if (key !== "message" && key !== "validate_only") throw new Refusal(400, `Invalid JSON payload received. Unknown name "${key}"`);
  }
  const message = request.message;
  if (typeof message !== "object" || message === null || Array.isArray(message)) throw invalid("Request contains an invalid argument.");
  checkMessage(message);
  if (request.validate_only) {
    counts.validated += 1;
    return [JSON.stringify({ name: `projects/${projectId}/messages/fake` }), null];
  }
  const failure = shareFailure();
  if (failure) {
    const text = SHARE_FAILURE_MESSAGES[failure.status] || "scripted";
    throw new Refusal(failure.status, text, failure.reason, null, failure.retry_after);
  }
  counts.accepted += 1;
  sequence += 1;
  const name = `projects/${projectId}/messages/${process.pid}:${sequence}`;
  return [JSON.stringify({ name }), message.token || ""];
}

/** [status, body, the accepted token ("" for a topic) or null, extra headers]. */
function answer(method, path, authorization, body, request = parse(body)) {
  if (path === "/token") return [...(method === "POST" ? token(body) : [405, "{}"]), null, {}];
  const match = SEND_PATH.exec(path);
  try {
    if (!match) throw new Refusal(404, `Requested entity was not found: ${path}`);
    if (method !== "POST") throw new Refusal(405, "Method not allowed.");
    return [200, ...send(match[1], authorization, request), {}];
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const code = error.errorCode || STATUS_NAMES[error.status];
    counts.errors[code] = (counts.errors[code] || 0) + 1;
    const extra = {};
    if (error.retryAfter !== null && error.retryAfter !== undefined) {
      extra["retry-after"] = String(error.retryAfter);
    }
    return [error.status, error.body(), null, extra];
  }
}

/** The device token a parsed send names, if any (before any check). */
function tokenOf(request) {
  const token = request && request.message && request.message.token;
  return typeof token === "string" ? token : null;
}

function start(configuration) {
  config = configuration;
  staticTokens = new Map(Object.entries(config.static_tokens || {}));
  const server = http2.createSecureServer({
    cert: fs.readFileSync(config.cert_file),
    key: fs.readFileSync(config.key_file),
    allowHTTP1: true,
    settings: { maxConcurrentStreams: config.max_streams || 100 },
  });
  // HTTP/1.1 (google-auth's token call, firebase-admin) through Node's compatibility API...
  server.on("request", (request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const [status, body, , extra] = answer(request.method, request.url, request.headers.authorization, Buffer.concat(chunks));
      response.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...extra });
      response.end(body);
    });
  });
  // ...and HTTP/2 on the faster core stream API, in place of the compatibility layer's handler.
  server.removeAllListeners("stream");
  server.on("stream", (stream, headers) => {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      const path = headers[":path"];
      const isSend = path !== "/token";
      const request = isSend ? parse(body) : undefined;
      if (isSend && !arrive(stream, tokenOf(request))) return;
      const [status, answerBody, accepted, extra] = answer(headers[":method"], path, headers.authorization, body, request);
      const answerHeaders = { ":status": status, "content-type": "application/json; charset=UTF-8", ...extra };
      if (isSend) {
        reply(stream, accepted, answerHeaders, answerBody);
      } else {
        stream.respond(answerHeaders);
        stream.end(answerBody);
      }
    });
    stream.on("error", () => {});
  });
  server.on("listening", () => {
    tokenUri = `https://127.0.0.1:${server.address().port}/token`;
  });
  return server;
}

function trust(account) {
  accounts.set(account.client_email, {
    keyId: account.private_key_id,
    publicKey: crypto.createPublicKey(account.public_key_pem),
  });
  projects.add(account.project_id);
}

await runFake({ start, counts: () => counts, command: trust });
