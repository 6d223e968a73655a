// Runs App Messaging with the real Comapi JS Foundation SDK in Node, several users at once,
// against a Pushport server (ASGI, so its WebSocket answers), and prints what happened as
// one JSON object on stdout.
//
// Every user is an SDK instance of its own in one jsdom page at PUSHPORT_ORIGIN; each keeps
// its session under its own localStorage prefix, as two apps (or two tabs with their own
// prefixes) would. The `ws` package is the page's WebSocket, as Node 20 has none.
// Environment: PUSHPORT_URL (http base URL), PUSHPORT_WS_URL (ws base URL),
// PUSHPORT_SPACE_ID, PUSHPORT_API_KEY (the authChallenge plays the app's backend and mints
// anonymous tokens with it), PUSHPORT_ORIGIN, PUSHPORT_SCENARIO (chat or reconnect).
"use strict";

const NodeWebSocket = require("ws");

const { answerChallenge, installPage, openPage } = require("./page");

// Close codes the server sent, so the test can tell its close from a network failure.
const closeCodes = [];

class RecordingWebSocket extends NodeWebSocket {
  constructor(url) {
    super(url);
    this.addEventListener("close", (event) => closeCodes.push(event.code));
  }
}

installPage(openPage(), { WebSocket: RecordingWebSocket });

const {
  ComapiConfig,
  ConversationBuilder,
  Foundation,
  LogLevels,
  LogPersistences,
  MessageBuilder,
  MessageStatusBuilder,
  OrphanedEventPersistences,
} = require("@comapi/sdk-js-foundation");

const baseUrl = process.env.PUSHPORT_URL;
const spaceId = process.env.PUSHPORT_SPACE_ID;
const WAIT_MS = 5000;

const SDK_EVENTS = [
  "WebsocketOpened",
  "WebsocketClosed",
  "participantAdded",
  "participantTyping",
  "participantTypingOff",
  "conversationMessageEvent",
];

// One SDK user: its instance, every socket-borne event it saw, and its auth challenges.
async function user(name, userId) {
  const client = { name, userId, events: [], waiters: [], authChallenges: 0 };
  const config = new ComapiConfig()
    .withApiSpace(spaceId)
    .withUrlBase(baseUrl)
    .withWebSocketBase(process.env.PUSHPORT_WS_URL)
    .withLocalStoragePrefix(`${name}.`)
    .withAuthChallenge((options, answer) => {
      client.authChallenges += 1;
      answerChallenge(userId, options, answer);
    })
    .withLogLevel(LogLevels.None)
    .withLogPersistence(LogPersistences.None)
    .withOrphanedEventPersistence(OrphanedEventPersistences.LocalStorage);
  client.sdk = await Foundation.initialise(config);
  for (const type of SDK_EVENTS) {
    client.sdk.on(type, (data) => {
      const event = { type, data };
      client.events.push(event);
      client.waiters = client.waiters.filter((waiter) => !waiter(event));
    });
  }
  return client;
}

// The first event at or after index `since` that matches; rejects after WAIT_MS.
function nextEvent(client, type, matches = () => true, since = 0) {
  const fits = (event) => event.type === type && matches(event.data);
  const seen = client.events.slice(since).find(fits);
  if (seen) return Promise.resolve(seen.data);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${client.name} got no ${type} within ${WAIT_MS} ms`)),
      WAIT_MS
    );
    client.waiters.push((event) => {
      if (!fits(event)) return false;
      clearTimeout(timer);
      resolve(event.data);
      return true;
    });
  });
}

// A session, then the socket: the appMessaging getter opens it, once per instance.
async function online(client) {
  client.session = await client.sdk.startSession();
  const opened = nextEvent(client, "WebsocketOpened");
  client.messaging = client.sdk.services.appMessaging;
  await opened;
  return client;
}

function sentEvent(messageId) {
  return (data) => data.name === "conversationMessage.sent" && data.payload.messageId === messageId;
}

async function chat() {
  const [alice, aliceTab, bob] = await Promise.all([
    user("alice", "alice").then(online),
    user("alice-tab", "alice").then(online),
    user("bob", "bob").then(online),
  ]);
  const result = { profiles: [alice, aliceTab, bob].map((c) => c.session.profileId) };
  const conversationId = "chat-1";
  const bobId = bob.session.profileId;

  await alice.messaging.createConversation(
    new ConversationBuilder().withId(conversationId).withName("Support")
  );
  await alice.messaging.addParticipantsToConversation(conversationId, [
    { id: bobId, role: "participant" },
  ]);
  result.participantAdded = await nextEvent(bob, "participantAdded");

  const sent = [];
  for (let number = 1; number <= 5; number += 1) {
    const message = new MessageBuilder().withText(`message ${number}`);
    sent.push(await alice.messaging.sendMessageToConversation(conversationId, message));
  }
  result.sent = sent;
  result.bobReceived = await nextEvent(bob, "conversationMessageEvent", sentEvent(sent[0].id));
  result.aliceTabReceived = await nextEvent(
    aliceTab,
    "conversationMessageEvent",
    sentEvent(sent[0].id)
  );
  for (const each of sent.slice(1)) {
    await nextEvent(bob, "conversationMessageEvent", sentEvent(each.id));
  }

  // Bob pages backwards, two at a time, until the SDK says there is nothing before.
  const pages = [];
  let page = await bob.messaging.getMessages(conversationId, 2);
  pages.push(page);
  while (page.continuationToken > 0 && pages.length < 10) {
    page = await bob.messaging.getMessages(conversationId, 2, page.continuationToken);
    pages.push(page);
  }
  result.pages = pages.map((each) => ({
    continuationToken: each.continuationToken,
    texts: each.messages.map((message) => message.parts[0].data),
    sentEventIds: each.messages.map((message) => message.sentEventId),
  }));
  // One more call past the first message: the SDK refuses it without asking the server.
  result.pastTheFirst = await bob.messaging
    .getMessages(conversationId, 2, page.continuationToken)
    .then(
      () => "answered",
      (error) => String(error && error.message ? error.message : error)
    );

  const readSince = alice.events.length;
  const statuses = [new MessageStatusBuilder().readStatusUpdates([sent[4].id])];
  await bob.messaging.sendMessageStatusUpdates(conversationId, statuses);
  result.aliceReadStatus = await nextEvent(
    alice,
    "conversationMessageEvent",
    (data) => data.name === "conversationMessage.read",
    readSince
  );

  await alice.messaging.sendIsTyping(conversationId);
  result.bobTyping = await nextEvent(bob, "participantTyping");
  await alice.messaging.sendIsTypingOff(conversationId);
  result.bobTypingOff = await nextEvent(bob, "participantTypingOff");

  result.aliceTyping = alice.events.filter((e) => e.type.startsWith("participantTyping"));
  result.aliceOwnSent = alice.events.filter(
    (e) => e.type === "conversationMessageEvent" && e.data.name === "conversationMessage.sent"
  ).length;
  return result;
}

// Sessions here live a few seconds (the server's PUSHPORT_SESSION_TOKEN_LIFETIME): the
// server closes Bob's socket when his session expires, and the SDK signs in again and
// reconnects on its own.
async function reconnect() {
  const [alice, bob] = await Promise.all([
    user("alice", "alice").then(online),
    user("bob", "bob").then(online),
  ]);
  const result = { firstSession: bob.session };
  const conversationId = "chat-2";
  await alice.messaging.createConversation(
    new ConversationBuilder()
      .withId(conversationId)
      .withName("Support")
      .withParticipants([{ id: bob.session.profileId, role: "participant" }])
  );
  // From the start: on a slow machine the session may expire before the conversation exists.
  await nextEvent(bob, "WebsocketClosed");
  const closed = bob.events.findIndex((event) => event.type === "WebsocketClosed");
  await nextEvent(bob, "WebsocketOpened", () => true, closed + 1);
  result.closeCodes = closeCodes.slice();
  result.secondSession = await bob.sdk.startSession();
  result.bobAuthChallenges = bob.authChallenges;

  // Alice's session expired too: her SDK signs in again before it sends.
  const message = new MessageBuilder().withText("after the reconnection");
  result.sent = await alice.messaging.sendMessageToConversation(conversationId, message);
  result.bobReceived = await nextEvent(bob, "conversationMessageEvent", sentEvent(result.sent.id));
  return result;
}

// Exits explicitly: open sockets and the SDK's echo timers would hold the process open.
function finish(output, code) {
  process.stdout.write(JSON.stringify(output) + "\n", () => process.exit(code));
}

const scenarios = { chat, reconnect };

scenarios[process.env.PUSHPORT_SCENARIO]()
  .then((result) => finish(result, 0))
  .catch((error) => finish({ message: String(error && error.stack ? error.stack : error) }, 1));
