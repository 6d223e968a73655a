// The fake APNs's behaviour on Node's native HTTP/2 server, for benchmarks that the Python
// fake (tests/fakes/apns.py) would limit. Same rules: ES256 provider tokens verified with the
// registered public key (kid, iss, age, the 20-minute rotation rule per connection), one stream
// until the first valid token, Apple's header, size and payload checks and error bodies.
// It speaks node_fake.mjs's protocol, faults and per-token counts included (a share failure
// hits only requests that pass every check); what it keeps is per connection, so it runs
// as workers.
import crypto from "node:crypto";
import fs from "node:fs";
import http2 from "node:http2";

import { arrive, reply, runFake, shareFailure } from "./node_fake.mjs";

const PUSH_TYPE_SUFFIX = {
  alert: "", background: "", location: ".location-query", voip: ".voip",
  complication: ".complication", fileprovider: ".pushkit.fileprovider", mdm: "",
  liveactivity: ".push-type.liveactivity", pushtotalk: ".voip-ptt",
  widgets: ".push-type.widgets", controls: ".push-type.controls",
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX = /^[0-9a-fA-F]+$/;
const DIGITS = /^\d+$/;
const TOKEN_LIFETIME = 3600;
const TOKEN_UPDATE_INTERVAL = 20 * 60;

class Refusal extends Error {
  constructor(status, reason, retryAfter = null) {
    super(reason);
    this.status = status;
    this.reason = reason;
    this.retryAfter = retryAfter;
  }
}

const counts = { connections: 0, requests: 0, accepted: 0, reasons: {} };
let config;
let publicKey;
const verified = new Map();

function verify(token) {
  let claims = verified.get(token);
  if (claims === undefined) {
    claims = checkSignature(token);
    verified.set(token, claims);
  }
  if (claims instanceof Refusal) throw claims;
  return claims;
}

function checkSignature(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return new Refusal(403, "InvalidProviderToken");
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url"));
    const claims = JSON.parse(Buffer.from(parts[1], "base64url"));
    if (header.alg !== "ES256" || header.kid !== config.key_id) {
      return new Refusal(403, "InvalidProviderToken");
    }
    const ok = crypto.verify(
      "sha256",
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: publicKey, dsaEncoding: "ieee-p1363" },
      Buffer.from(parts[2], "base64url"),
    );
    if (!ok || claims.iss !== config.team_id || !Number.isInteger(claims.iat)) {
      return new Refusal(403, "InvalidProviderToken");
    }
    return claims;
  } catch {
    return new Refusal(403, "InvalidProviderToken");
  }
}

function authenticate(session, authorization) {
  if (!authorization || !authorization.toLowerCase().startsWith("bearer ")) {
    throw new Refusal(403, "MissingProviderToken");
  }
  const token = authorization.slice(7);
  const claims = verify(token);
  const now = Date.now() / 1000;
  if (now - claims.iat > TOKEN_LIFETIME) throw new Refusal(403, "ExpiredProviderToken");
  if (session.apnsToken === undefined) {
    session.apnsToken = token;
    session.apnsTokenSince = now;
    // APNs allows one stream until the first authenticated request, then many.
    session.settings({ maxConcurrentStreams: config.max_streams });
  } else if (token !== session.apnsToken) {
    if (now - session.apnsTokenSince < TOKEN_UPDATE_INTERVAL) {
      throw new Refusal(429, "TooManyProviderTokenUpdates");
    }
    session.apnsToken = token;
    session.apnsTokenSince = now;
  }
}

function check(session, headers, rawHeaders = [], body) {
  if (headers[":method"] !== "POST") throw new Refusal(405, "MethodNotAllowed");
  const path = headers[":path"] || "";
  if (!path.startsWith("/3/device/")) throw new Refusal(404, "BadPath");
  const token = path.slice("/3/device/".length);
  if (!token) throw new Refusal(400, "MissingDeviceToken");
  const seen = new Set();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (seen.has(rawHeaders[i])) throw new Refusal(400, "DuplicateHeaders");
    seen.add(rawHeaders[i]);
  }
  authenticate(session, headers.authorization);
  const pushType = headers["apns-push-type"] || "";
  if (!(pushType in PUSH_TYPE_SUFFIX)) throw new Refusal(400, "InvalidPushType");
  const topic = headers["apns-topic"];
  if (topic === undefined) throw new Refusal(400, "MissingTopic");
  const suffix = PUSH_TYPE_SUFFIX[pushType];
  if (suffix && !topic.endsWith(suffix)) throw new Refusal(400, "BadTopic");
  if (topic.slice(0, topic.length - suffix.length) !== config.topic) {
    throw new Refusal(400, "TopicDisallowed");
  }
  const priority = headers["apns-priority"] || "10";
  if (!["10", "5", "1"].includes(priority) || (pushType === "background" && priority === "10")) {
    throw new Refusal(400, "BadPriority");
  }
  const apnsId = headers["apns-id"];
  if (apnsId !== undefined && !UUID.test(apnsId)) throw new Refusal(400, "BadMessageId");
  const expiration = headers["apns-expiration"];
  if (expiration !== undefined && !DIGITS.test(expiration)) {
    throw new Refusal(400, "BadExpirationDate");
  }
  if (Buffer.byteLength(headers["apns-collapse-id"] || "") > 64) {
    throw new Refusal(400, "BadCollapseId");
  }
  if (body.length === 0) throw new Refusal(400, "PayloadEmpty");
  if (body.length > (pushType === "voip" ? 5120 : 4096)) throw new Refusal(413, "PayloadTooLarge");
  let payload;
  try {
    payload = JSON.parse(body);
  } catch {
    throw new Refusal(400, "BadRequestPayload");
  }
  const aps = payload && typeof payload === "object" ? payload.aps : undefined;
  if (!aps || typeof aps !== "object" || Array.isArray(aps)) {
    throw new Refusal(400, "BadRequestPayload");
  }
  if (pushType === "background" && JSON.stringify(aps) !== '{"content-available":1}') {
    throw new Refusal(400, "BadRequestPayload");
  }
  // Apple issues no all-zero token: Pushport's credential check expects BadDeviceToken for it.
  if (!HEX.test(token) || /^0+$/.test(token)) throw new Refusal(400, "BadDeviceToken");
  return token;
}

function answer(stream, headers, rawHeaders, body) {
  counts.requests += 1;
  const apnsId = headers["apns-id"] || crypto.randomUUID();
  let token;
  try {
    token = check(stream.session, headers, rawHeaders, body);
    const failure = shareFailure();
    if (failure) throw new Refusal(failure.status, failure.reason, failure.retry_after);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    counts.reasons[error.reason] = (counts.reasons[error.reason] || 0) + 1;
    const json = JSON.stringify({ reason: error.reason });
    const answerHeaders = {
      ":status": error.status, "apns-id": apnsId, "content-type": "application/json",
    };
    if (error.retryAfter !== null && error.retryAfter !== undefined) {
      answerHeaders["retry-after"] = String(error.retryAfter);
    }
    reply(stream, null, answerHeaders, json);
    return;
  }
  counts.accepted += 1;
  reply(stream, token, { ":status": 200, "apns-id": apnsId }, null);
}

function tokenOf(path) {
  return path && path.startsWith("/3/device/") ? path.slice("/3/device/".length) : null;
}

function start(configuration) {
  config = configuration;
  publicKey = crypto.createPublicKey(config.public_key_pem);
  const server = http2.createSecureServer({
    cert: fs.readFileSync(config.cert_file),
    key: fs.readFileSync(config.key_file),
    allowHTTP1: false,
    settings: { maxConcurrentStreams: 1 },
    peerMaxConcurrentStreams: config.max_streams,
  });
  // Answer each write at once (no Nagle delay): clients that write one request at a time
  // would otherwise wait on delayed ACKs.
  server.on("connection", (socket) => socket.setNoDelay(true));
  server.on("session", () => {
    counts.connections += 1;
  });
  server.on("stream", (stream, headers, flags, rawHeaders) => {
    const chunks = [];
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("end", () => {
      if (arrive(stream, tokenOf(headers[":path"]))) {
        answer(stream, headers, rawHeaders, Buffer.concat(chunks));
      }
    });
    stream.on("error", () => {});
  });
  return server;
}

await runFake({ start, counts: () => counts });
