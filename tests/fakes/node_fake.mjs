// What the Node fakes share: their stdin protocol and, for benchmarks, serving from several
// processes. The first stdin line is the JSON configuration; the fake prints {"port"} once it
// listens. Then each line is "counts" (answered with one JSON line), a JSON command (answered
// "ok"), or "stop"; the fake exits when stdin closes.
//
// With config.workers > 1 this process forks that many workers (node:cluster) that share its
// port, so the fake is not held to one core: "counts" sums the workers' counts, and a command
// reaches every worker before it is answered. State a request needs must then live in the
// configuration, in a command or in the request itself (a connection stays on one worker).
import cluster from "node:cluster";
import crypto from "node:crypto";
import readline from "node:readline";

const CONFIG_VARIABLE = "PUSHPORT_NODE_FAKE_CONFIG";

/**
 * Run a fake: `start(config)` returns its listening-ready http2 server (not yet listening),
 * `counts()` its counters (numbers, or objects of numbers), `command(object)` applies a command.
 */
export async function runFake({ start, counts, command = () => {} }) {
  if (cluster.isWorker) {
    serveAsWorker({ start, counts, command });
    return;
  }
  const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) process.exit(0);
  // A secret every worker shares, for state a fake keeps in what it hands out (tokens).
  const config = { secret: crypto.randomBytes(32).toString("hex"), ...JSON.parse(first.value) };
  const workers = config.workers > 1 ? await fork(config) : null;
  const port = workers ? workers.port : await listen(start(config), config.port);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  for await (const line of lines) {
    const text = line.trim();
    if (text === "stop") break;
    if (text === "counts") {
      const parts = workers ? await workers.ask({ counts: true }) : [counts()];
      process.stdout.write(`${JSON.stringify(parts.reduce(add, {}))}\n`);
    } else if (text.startsWith("{")) {
      const object = JSON.parse(text);
      if (workers) await workers.ask({ command: object });
      else command(object);
      process.stdout.write("ok\n");
    }
  }
  if (workers) workers.stop();
  process.exit(0);
}

function listen(server, port) {
  return new Promise((resolve) => {
    server.listen(port || 0, "127.0.0.1", () => resolve(server.address().port));
  });
}

function serveAsWorker({ start, counts, command }) {
  const config = JSON.parse(process.env[CONFIG_VARIABLE]);
  listen(start(config), config.port).then((port) => process.send({ port }));
  process.on("message", (message) => {
    if (message.counts) {
      process.send({ counts: counts() });
    } else if (message.command) {
      command(message.command);
      process.send({ done: true });
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
  const ports = await Promise.all(workers.map((worker) => reply(worker)));
  return {
    port: ports[0].port,
    ask: (message) =>
      Promise.all(
        workers.map((worker) => {
          const answer = reply(worker);
          worker.send(message);
          return answer.then((part) => part.counts ?? part);
        }),
      ),
    stop: () => workers.forEach((worker) => worker.kill()),
  };
}

function reply(worker) {
  return new Promise((resolve) => worker.once("message", resolve));
}

function add(total, part) {
  for (const [key, value] of Object.entries(part)) {
    if (typeof value === "number") total[key] = (total[key] || 0) + value;
    else if (value && typeof value === "object") total[key] = add(total[key] || {}, value);
  }
  return total;
}
