// What both SDK scripts share: the browser page the SDK runs in, and the app's backend that
// answers its auth challenges.
"use strict";

const { JSDOM } = require("jsdom");

// A jsdom page at PUSHPORT_ORIGIN, so the SDK's XMLHttpRequests follow a browser's CORS rules
// (preflights, allowed origins, only exposed response headers readable).
function openPage() {
  return new JSDOM("<!doctype html><title>app</title>", {
    url: `${process.env.PUSHPORT_ORIGIN}/`,
  });
}

// The SDK expects a browser: window, navigator, localStorage, XMLHttpRequest and, for App
// Messaging, WebSocket (Node 20 has none).
function installPage(page, { XMLHttpRequest = page.window.XMLHttpRequest, WebSocket } = {}) {
  global.window = page.window;
  global.localStorage = page.window.localStorage;
  global.XMLHttpRequest = XMLHttpRequest;
  if (WebSocket) global.WebSocket = WebSocket;
  Object.defineProperty(globalThis, "navigator", {
    value: page.window.navigator,
    configurable: true,
  });
}

// Plays the app's own server: asks Pushport (PUSHPORT_URL, PUSHPORT_SPACE_ID, with the API
// key PUSHPORT_API_KEY) for an anonymous token of `userId` bound to the challenge's nonce,
// and answers the SDK with it (null when refused).
function answerChallenge(userId, options, answer) {
  const query = `id=${encodeURIComponent(userId)}&nonce=${encodeURIComponent(options.nonce)}`;
  const url = `${process.env.PUSHPORT_URL}/apispaces/${process.env.PUSHPORT_SPACE_ID}`;
  fetch(`${url}/sessions/tokens/anon?${query}`, {
    headers: { Authorization: `Bearer ${process.env.PUSHPORT_API_KEY}` },
  })
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => answer(body && body.token))
    .catch(() => answer(null));
}

module.exports = { answerChallenge, installPage, openPage };
