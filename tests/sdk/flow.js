// Runs the real Comapi JS Foundation SDK in Node against a Pushport server and prints
// what happened as one JSON object on stdout.
//
// The SDK runs in a jsdom page at PUSHPORT_ORIGIN, so its XMLHttpRequests follow a browser's
// CORS rules: preflights, allowed origins, and only exposed response headers readable.
// Environment: PUSHPORT_URL (base URL), PUSHPORT_SPACE_ID, PUSHPORT_API_KEY (used by the
// authChallenge, playing the app's backend, to mint an anonymous token), PUSHPORT_USER_ID,
// PUSHPORT_ORIGIN.
"use strict";

const { answerChallenge, installPage, openPage } = require("./page");

const page = openPage();

// Every request the SDK makes, so the test can check the wire (methods, paths, If-Match,
// statuses).
const requests = [];

class RecordingXMLHttpRequest extends page.window.XMLHttpRequest {
  open(method, url, ...rest) {
    this._record = { method, path: new URL(url).pathname, headers: {} };
    requests.push(this._record);
    return super.open(method, url, ...rest);
  }

  send(body) {
    this.addEventListener("loadend", () => {
      this._record.status = this.status;
    });
    return super.send(body);
  }

  setRequestHeader(name, value) {
    this._record.headers[name.toLowerCase()] = value;
    return super.setRequestHeader(name, value);
  }
}

installPage(page, { XMLHttpRequest: RecordingXMLHttpRequest });

const {
  ComapiConfig,
  Environment,
  Foundation,
  LogLevels,
  LogPersistences,
  OrphanedEventPersistences,
} = require("@comapi/sdk-js-foundation");

const baseUrl = process.env.PUSHPORT_URL;
const spaceId = process.env.PUSHPORT_SPACE_ID;
const apiKey = process.env.PUSHPORT_API_KEY;
const userId = process.env.PUSHPORT_USER_ID;

let authChallenges = 0;

function authChallenge(options, answer) {
  authChallenges += 1;
  answerChallenge(userId, options, answer);
}

// The SDK rejects with {statusCode, response}; keep only what a test can compare.
function failure(error) {
  return { statusCode: error && error.statusCode, response: error && error.response };
}

async function main() {
  const config = new ComapiConfig()
    .withApiSpace(spaceId)
    .withUrlBase(baseUrl)
    .withAuthChallenge(authChallenge)
    .withLogLevel(LogLevels.None)
    .withLogPersistence(LogPersistences.None)
    .withOrphanedEventPersistence(OrphanedEventPersistences.LocalStorage);
  const sdk = await Foundation.initialise(config);
  const result = {};

  result.session = await sdk.startSession();
  // A second start must reuse the cached token: the SDK decodes its payload with atob().
  result.secondSession = await sdk.startSession();

  result.fcmRegistered = await sdk.device.setFCMPushDetails(
    "com.example.web",
    "fcm-registration-token-from-sdk"
  );
  result.apnsRegistered = await sdk.device.setAPNSPushDetails(
    "com.example.ios",
    Environment.development,
    "a1b2c3d4".repeat(8)
  );

  result.profile = await sdk.services.profile.getMyProfile();
  result.updated = await sdk.services.profile.updateMyProfile({ nickname: "Ada" });
  result.patched = await sdk.services.profile.patchMyProfile({ colour: "green" }, true);
  result.stalePatch = await sdk.services.profile
    .patchProfile(result.session.profileId, { colour: "red" }, '"stale"')
    .then(() => ({ statusCode: 200 }), failure);

  // The app's backend ends the session: the SDK's next call gets a 401, authenticates again
  // (re-sending its push details in POST /sessions) and retries the call.
  const basic = Buffer.from(`${spaceId}:${apiKey}`).toString("base64");
  const revoked = await fetch(`${baseUrl}/cpaas/sessions/${result.session.id}`, {
    method: "DELETE",
    headers: { Authorization: `Basic ${basic}` },
  });
  result.revokedStatus = revoked.status;
  result.profileAfterRevocation = await sdk.services.profile.getMyProfile();
  result.sessionAfterRevocation = await sdk.startSession();

  // An app's read-modify-write: the server's own fields (_createdOn...) go back unchanged.
  const mine = await sdk.services.profile.getMyProfile();
  mine.score = 1;
  result.roundTrip = await sdk.services.profile
    .updateMyProfile(mine)
    .then((profile) => ({ statusCode: 200, profile }), failure);

  // Revoked again, then a push registration: the SDK gets a 401, authenticates again and
  // repeats PUT sessions/{the old id}/push with the new session's token.
  const revokedAgain = await fetch(
    `${baseUrl}/cpaas/sessions/${result.sessionAfterRevocation.id}`,
    { method: "DELETE", headers: { Authorization: `Basic ${basic}` } }
  );
  result.revokedAgainStatus = revokedAgain.status;
  result.pushAfterRevocation = await sdk.device
    .setAPNSPushDetails("com.example.ios", Environment.production, "e5f6a7b8".repeat(8))
    .then((ok) => ({ statusCode: 200, ok }), failure);
  result.sessionAfterPushRetry = await sdk.startSession();

  result.ended = await sdk.endSession();
  result.authChallenges = authChallenges;
  result.requests = requests;
  return result;
}

// Exits explicitly: kept-alive HTTP connections would otherwise hold the process open.
function finish(output, code) {
  process.stdout.write(JSON.stringify(output) + "\n", () => process.exit(code));
}

main()
  .then((result) => finish(result, 0))
  .catch((error) =>
    finish({ error: failure(error), message: String(error), requests }, 1)
  );
