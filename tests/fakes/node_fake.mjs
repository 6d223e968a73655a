// What the Node fakes share: their stdin protocol, faults and per-token counts, and, for
// benchmarks, serving from several processes. The first stdin line is the JSON configuration
// (its "faults", a spec as below, apply from the start); the fake prints {"port"} once it
// listens. Then each line is one of:
//   counts                 -> one JSON line: the fake's counters (and answered,
//                             reset_streams, refused_streams, goaways, drops)
//   tokens                 -> one JSON line: {"received": {token: n}, "accepted": {...},
//                             "answered": {...}} (see server.py for what each counts)
//   {"faults": spec}       -> "ok"; spec as in tests/fakes/server.py: {"fail": {share,
//                             status, reason, retry_after}, "reset": {share, error_code},
//                             "hold": {share, seconds}, "goaway": {every, reason},
//                             "drop": {every}}; null turns one off, a missing key keeps it
//   {"reset": true}        -> "ok"; every fault off, every count zero
//   any other JSON object  -> "ok", after the fake's own command took it
//   stop                   -> exit (as when stdin closes)
//
// With config.workers > 1 this process forks that many workers (node:cluster) that share its
// port, so the fake is not held to one core: "counts" and "tokens" sum the workers' answers,
// and a command reaches every worker before it is answered. State a request needs must then
// live in the configuration, in a command or in the request itself (a connection stays on
// one worker); the share faults pick every k-th request of each worker, and the timers run
// in each worker.
//
// A fake's stream handler calls arrive(stream, token) once the request is whole (false: the
// stream was reset or refused, leave it), shareFailure() where it would accept the request
// (an error to answer instead, or null), and reply(stream, acceptedToken, headers, body).
import cluster from "node:cluster";
import crypto from "node:crypto";
import http2 from "node:http2";
import readline from "node:readline";

const CONFIG_VARIABLE = "PUSHPORT_NODE_FAKE_CONFIG";
const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/**
 * Run a fake: `start(config)` returns its listening-ready http2 server (not yet listening),
 * `counts()` its counters (numbers, or objects of numbers), `command(object)` applies a command.
 */
export async function runFake({ start, counts, command = () => {} }) {
  const fake = { start, counts: () => ({ ...counts(), ...faultCounts }), command, ownCounts: counts };
  if (cluster.isWorker) {
    serveAsWorker(fake);
    return;
  }
  const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) process.exit(0);
  // A secret every worker shares, for state a fake keeps in what it hands out (tokens).
  const config = { secret: crypto.randomBytes(32).toString("hex"), ...JSON.parse(first.value) };
  const workers = config.workers > 1 ? await fork(config) : null;
  const port = workers ? workers.port : await listen(serve(fake, config), config.port);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  for await (const line of lines) {
    const text = line.trim();
    if (text === "stop") break;
    if (text === "counts" || text === "tokens") {
      const parts = workers ? await workers.ask({ query: text }) : [query(fake, text)];
      process.stdout.write(`${JSON.stringify(parts.reduce(add, {}))}\n`);
    } else if (text.startsWith("{")) {
      let answer = "ok";
      try {
        const object = JSON.parse(text);
        if (workers) await workers.ask({ command: object });
        else obey(fake, object);
      } catch (error) {
        answer = `error: ${error.message}`;
      }
      process.stdout.write(`${answer}\n`);
    }
  }
  if (workers) workers.stop();
  process.exit(0);
}

function serve(fake, config) {
  setFaults(config.faults || {});
  const server = fake.start(config);
  track(server);
  return server;
}

function query(fake, what) {
  return what === "counts" ? fake.counts() : tokenCounts();
}

function obey(fake, object) {
  if ("faults" in object) setFaults(object.faults || Object.fromEntries(FAULTS.map((n) => [n, null])));
  else if (object.reset) resetAll(fake);
  else fake.command(object);
}

function listen(server, port) {
  return new Promise((resolve) => {
    server.listen(port || 0, "127.0.0.1", () => resolve(server.address().port));
  });
}

function serveAsWorker(fake) {
  const config = JSON.parse(process.env[CONFIG_VARIABLE]);
  listen(serve(fake, config), config.port).then((port) => process.send({ port }));
  process.on("message", (message) => {
    if (message.query) {
      process.send({ answer: query(fake, message.query) });
    } else if (message.command) {
      let error = null;
      try {
        obey(fake, message.command);
      } catch (failure) {
        error = failure.message;
      }
      process.send({ answer: "ok", error });
    }
  });
  // The primary's stdin is the fake's lifeline; a worker goes when the primary does.
  process.on("disconnect", () => process.exit(0));
}

async function fork(config) {
  const workers = [];
  for (let i = 0; i < config.workers; i += 1) {
    workers.push(cluster.fork({ [CONFIG_VARIABLE]: JSON.stringify(config) }));
  }
  // Workers listening on port 0 share the one port the primary bound for the first of them.
  const ports = await Promise.all(workers.map((worker) => nextMessage(worker)));
  return {
    port: ports[0].port,
    ask: async (message) => {
      const parts = await Promise.all(
        workers.map((worker) => {
          const answer = nextMessage(worker);
          worker.send(message);
          return answer;
        }),
      );
      const failed = parts.find((part) => part.error);
      if (failed) throw new Error(failed.error);
      return parts.map((part) => part.answer);
    },
    stop: () => workers.forEach((worker) => worker.kill()),
  };
}

function nextMessage(worker) {
  return new Promise((resolve) => worker.once("message", resolve));
}

function add(total, part) {
  for (const [key, value] of Object.entries(part)) {
    if (typeof value === "number") total[key] = (total[key] || 0) + value;
    else if (value && typeof value === "object") total[key] = add(total[key] || {}, value);
  }
  return total;
}

// --- Faults and per-token counts (the same controls as FaultControls in server.py) ---------

const FAULTS = ["fail", "reset", "hold", "goaway", "drop"];
const faults = Object.fromEntries(FAULTS.map((name) => [name, null]));
const shares = {};
const timers = {};
const faultCounts = { answered: 0, reset_streams: 0, refused_streams: 0, goaways: 0, drops: 0 };
// token -> [received, accepted, answered]: one entry per token keeps a send at one insertion.
let tokens = new Map();
const RECEIVED = 0;
const ACCEPTED = 1;
const ANSWERED = 2;
const sessions = new Set();
const sockets = new Set();

/** Picks `share` of its calls, the same ones every run (as Share in server.py). */
class Share {
  constructor(share) {
    if (!(share >= 0 && share <= 1)) throw new Error(`a share is between 0 and 1, not ${share}`);
    this.share = share;
    this.seen = 0;
  }

  pick() {
    this.seen += 1;
    const now = Math.floor(this.seen * this.share + 1e-9);
    return now > Math.floor((this.seen - 1) * this.share + 1e-9);
  }
}

function setFaults(spec) {
  for (const [name, value] of Object.entries(spec)) {
    if (!FAULTS.includes(name)) throw new Error(`unknown fault: ${name}`);
    faults[name] = value ? { ...value } : null;
    if (value && value.share !== undefined) shares[name] = new Share(value.share);
    else delete shares[name];
  }
  armTimers();
}

function picked(name) {
  const share = shares[name];
  return share !== undefined && share.pick() ? faults[name] : null;
}

function armTimers() {
  for (const name of ["goaway", "drop"]) {
    clearInterval(timers[name]);
    delete timers[name];
    const every = faults[name] && faults[name].every;
    if (every) {
      timers[name] = setInterval(name === "goaway" ? goAwayAll : dropAll, every * 1000);
      timers[name].unref();
    }
  }
}

function resetAll(fake) {
  setFaults(Object.fromEntries(FAULTS.map((name) => [name, null])));
  zero(fake.ownCounts());
  zero(faultCounts);
  tokens = new Map();
}

/** Numbers to 0; objects (counts by reason) emptied. */
function zero(object) {
  for (const [key, value] of Object.entries(object)) {
    if (typeof value === "number") object[key] = 0;
    else if (value && typeof value === "object") for (const inner of Object.keys(value)) delete value[inner];
  }
}

function bump(token, which) {
  let entry = tokens.get(token);
  if (entry === undefined) {
    entry = [0, 0, 0];
    tokens.set(token, entry);
  }
  entry[which] += 1;
}

function tokenCounts() {
  const counts = { received: {}, accepted: {}, answered: {} };
  for (const [token, [received, accepted, answered]] of tokens) {
    if (received) counts.received[token] = received;
    if (accepted) counts.accepted[token] = accepted;
    if (answered) counts.answered[token] = answered;
  }
  return counts;
}

function track(server) {
  server.on("secureConnection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("session", (session) => {
    // processed: the highest stream processed; lastStreamId: set once GOAWAY went out;
    // partial: the streams whose request is not whole yet (a GOAWAY may refuse them).
    session.pushport = { processed: 0, lastStreamId: null, partial: new Map() };
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {});
    session.on("stream", (stream) => session.pushport.partial.set(stream.id, stream));
  });
}

/**
 * A whole request arrived for `token` (or none): false when the stream must be left alone
 * (reset by a fault, or above the last stream of a GOAWAY), true when the fake processes it.
 */
export function arrive(stream, token) {
  const state = stream.session && stream.session.pushport;
  if (!state) return false;
  state.partial.delete(stream.id);
  if (state.lastStreamId !== null && stream.id > state.lastStreamId) {
    faultCounts.refused_streams += 1;
    stream.close(NGHTTP2_REFUSED_STREAM);
    return false;
  }
  if (token) bump(token, RECEIVED);
  const reset = picked("reset");
  if (reset) {
    faultCounts.reset_streams += 1;
    stream.close(reset.error_code ?? NGHTTP2_REFUSED_STREAM);
    return false;
  }
  if (stream.id > state.processed) state.processed = stream.id;
  return true;
}

/** The error ({status, reason, retry_after}) to answer instead of accepting, or null. */
export function shareFailure() {
  return picked("fail");
}

/**
 * Answer a processed request, now or held. `acceptedToken` is the token of an accepted send
 * ("" when it names none), null otherwise: it counts accepted now and answered once written.
 */
export function reply(stream, acceptedToken, headers, body) {
  if (acceptedToken) bump(acceptedToken, ACCEPTED);
  const hold = picked("hold");
  if (hold) setTimeout(() => send(stream, acceptedToken, headers, body), hold.seconds * 1000);
  else send(stream, acceptedToken, headers, body);
}

function send(stream, acceptedToken, headers, body) {
  if (stream.destroyed || stream.closed) return; // dropped, or the client gave up: lost
  if (body) {
    stream.respond(headers);
    stream.end(body);
  } else {
    stream.respond(headers, { endStream: true });
  }
  if (acceptedToken !== null && acceptedToken !== undefined) {
    faultCounts.answered += 1;
    if (acceptedToken) bump(acceptedToken, ANSWERED);
  }
}

function goAwayAll() {
  const reason = faults.goaway && faults.goaway.reason;
  const debug = reason ? Buffer.from(JSON.stringify({ reason })) : undefined;
  for (const session of sessions) {
    const state = session.pushport;
    if (state.lastStreamId !== null || session.closed || session.destroyed) continue;
    state.lastStreamId = state.processed;
    faultCounts.goaways += 1;
    session.goaway(NGHTTP2_NO_ERROR, state.lastStreamId, debug);
    // Streams above the last one were never processed; the rest finish (held ones too)
    // before close() ends the session.
    for (const [id, stream] of state.partial) {
      if (id > state.lastStreamId) {
        state.partial.delete(id);
        faultCounts.refused_streams += 1;
        if (!stream.closed) stream.close(NGHTTP2_REFUSED_STREAM);
      }
    }
    session.close();
  }
}

function dropAll() {
  for (const socket of sockets) {
    faultCounts.drops += 1;
    socket.destroy();
  }
}
