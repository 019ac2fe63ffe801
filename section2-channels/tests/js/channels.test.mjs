// The official `phoenix` client (with `ws` as its WebSocket) against the Rust server.
//
// Run by tests/js_client.rs, which starts the server and passes its address in
// SERVER (host:port). Each test opens its own sockets and closes them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "phoenix";
import WebSocket from "ws";

const SERVER = process.env.SERVER;
if (!SERVER) throw new Error("set SERVER=host:port (tests/js_client.rs does)");
const TOKEN = process.env.TOKEN ?? "";
const USER_ID = process.env.USER_ID ?? "";

/** A socket on `mount` with the official client's defaults, except those given. */
function socket(mount, opts = {}) {
  return new Socket(`ws://${SERVER}${mount}`, { transport: WebSocket, reconnectAfterMs: () => 50, rejoinAfterMs: () => 100, ...opts });
}

/** Resolves when `fn(resolve)` resolves, or rejects after `ms` with `what`. */
function within(ms, what, fn) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    fn((value) => { clearTimeout(timer); resolve(value); }, reject);
  });
}

/** Joins `topic` and resolves with the join reply's status and response. */
function join(channel) {
  return within(5000, `join ${channel.topic}`, (resolve) => {
    channel.join()
      .receive("ok", (response) => resolve({ status: "ok", response }))
      .receive("error", (response) => resolve({ status: "error", response }))
      .receive("timeout", () => resolve({ status: "timeout" }));
  });
}

/** Pushes and resolves with the reply's status and response (or timeout). */
function push(channel, event, payload, timeout = 5000) {
  return within(timeout + 2000, `push ${event}`, (resolve) => {
    channel.push(event, payload, timeout)
      .receive("ok", (response) => resolve({ status: "ok", response }))
      .receive("error", (response) => resolve({ status: "error", response }))
      .receive("timeout", () => resolve({ status: "timeout" }));
  });
}

function connected(s) {
  return within(5000, "socket open", (resolve) => { s.onOpen(() => resolve()); s.connect(); });
}

async function control(path) {
  const response = await fetch(`http://${SERVER}/test/${path}`, { method: "POST" });
  assert.equal(response.status, 202, `POST /test/${path}`);
}

test("a socket without a valid token is refused; with one it opens and joins its own user channel only", async () => {
  const refused = socket("/auth_socket");
  await within(5000, "an error on the refused socket", (resolve) => { refused.onError(() => resolve()); refused.connect(); });
  assert.equal(refused.isConnected(), false);
  refused.disconnect();

  const forged = socket("/auth_socket", { params: { token: TOKEN.slice(0, -2) + "xx" } });
  await within(5000, "an error on the forged-token socket", (resolve) => { forged.onError(() => resolve()); forged.connect(); });
  forged.disconnect();

  const accepted = socket("/auth_socket", { params: { token: TOKEN } });
  await connected(accepted);
  const mine = accepted.channel(`user:${USER_ID}`, {});
  assert.deepEqual(await join(mine), { status: "ok", response: {} });
  const theirs = accepted.channel("user:99999", {});
  assert.deepEqual(await join(theirs), { status: "error", response: { reason: "unauthorized" } });
  accepted.disconnect();
});

test("join, push and reply, error reply, and a push that times out", async () => {
  const s = socket("/socket");
  await connected(s);
  const ping = s.channel("ping", {});
  assert.deepEqual(await join(ping), { status: "ok", response: {} });
  assert.deepEqual(await push(ping, "ping", {}), { status: "ok", response: { ping: "pong" } });
  assert.deepEqual(await push(ping, "ping", { ack_phrase: "hello" }), { status: "ok", response: { ping: "hello" } });
  assert.deepEqual(await push(ping, "ping", { ack_phrase: 42 }), { status: "error", response: { reason: "ack_phrase must be a string" } });
  // `pong` is never answered: the client's own timer fires.
  assert.deepEqual(await push(ping, "pong", {}, 200), { status: "timeout" });
  // Stop with a reply: the reply arrives, then the channel is closed.
  const closed = within(5000, "phx_close after ding", (resolve) => ping.onClose(() => resolve()));
  assert.deepEqual(await push(ping, "ding", {}), { status: "ok", response: { msg: "shutting down" } });
  await closed;
  assert.equal(ping.state, "closed");
  s.disconnect();
});

test("an unmatched topic is an error reply", async () => {
  const s = socket("/socket");
  await connected(s);
  const reply = await join(s.channel("warehouse:1", {}));
  assert.deepEqual(reply, { status: "error", response: { reason: "unmatched topic" } });
  s.disconnect();
});

test("a broadcast reaches every joined client, and an intercepted one is rewritten", async () => {
  const sockets = [socket("/socket"), socket("/socket")];
  const channels = [];
  for (const s of sockets) {
    await connected(s);
    const ops = s.channel("ops", {});
    assert.equal((await join(ops)).status, "ok");
    channels.push(ops);
  }
  const deploys = channels.map((ops) => within(5000, "deploy broadcast", (resolve) => ops.on("deploy", resolve)));
  const pings = channels.map((ops) => within(5000, "send_ping push", (resolve) => ops.on("send_ping", resolve)));
  await control("broadcast?topic=ops&event=deploy");
  await control("broadcast?topic=ops&event=request_ping");
  for (const payload of await Promise.all(deploys)) assert.deepEqual(payload, { from: "test" });
  for (const payload of await Promise.all(pings)) assert.deepEqual(payload, { from: "test", from_node: "node-test@127.0.0.1" });
  sockets.forEach((s) => s.disconnect());
});

test("a duplicate join closes the old channel; the client drops that close as outdated", async () => {
  const s = socket("/socket");
  await connected(s);
  const ping = s.channel("ping", {});
  assert.equal((await join(ping)).status, "ok");
  const oldJoinRef = ping.joinRef();
  const frames = [];
  s.onMessage((m) => frames.push(m));
  let closedByServer = false;
  ping.onClose(() => { closedByServer = true; });
  // Send phx_join again on the same channel (a new ref, as a rejoin does).
  ping.joinPush.resend(5000);
  // Registered after the resend, which forgets the first join's reply.
  await within(5000, "the second join's ok", (resolve) => ping.joinPush.receive("ok", resolve));
  assert.notEqual(ping.joinRef(), oldJoinRef);
  const close = frames.find((m) => m.event === "phx_close");
  assert.ok(close, `the server sends phx_close for the old join: ${JSON.stringify(frames)}`);
  assert.equal(close.join_ref, oldJoinRef);
  assert.equal(closedByServer, false, "phoenix.js must drop the outdated phx_close");
  assert.deepEqual(await push(ping, "ping", {}), { status: "ok", response: { ping: "pong" } });
  s.disconnect();
});

test("1,000 pushes without awaiting, five rounds: every one is answered and the socket stays open", async () => {
  const s = socket("/socket");
  await connected(s);
  const ping = s.channel("ping", {});
  assert.equal((await join(ping)).status, "ok");
  let closes = 0;
  s.onClose(() => { closes += 1; });
  for (let round = 1; round <= 5; round++) {
    // As a page pushing in a loop does: nothing awaited until all 1,000 are sent. The
    // channel's mailbox (64) overflows, so some answers are `channel busy`; the server
    // reads no faster than its replies leave, so none may time out.
    const answers = [];
    for (let i = 0; i < 1000; i++) {
      answers.push(new Promise((resolve) => {
        ping.push("ping", {}, 10000)
          .receive("ok", () => resolve("ok"))
          .receive("error", (r) => resolve(String(r.reason).startsWith("channel busy") ? "busy" : `error ${JSON.stringify(r)}`))
          .receive("timeout", () => resolve("timeout"));
      }));
    }
    const counts = {};
    for (const answer of await within(15000, `round ${round}: 1,000 answers`, (resolve) => Promise.all(answers).then(resolve))) {
      counts[answer] = (counts[answer] ?? 0) + 1;
    }
    assert.equal((counts.ok ?? 0) + (counts.busy ?? 0), 1000, `round ${round}: every push answered ok or busy, got ${JSON.stringify(counts)}`);
    assert.equal(s.isConnected(), true, `round ${round}: the socket is still open`);
  }
  assert.equal(closes, 0, "the server never closed the socket");
  s.disconnect();
});

test("heartbeats are answered", async () => {
  const s = socket("/socket", { heartbeatIntervalMs: 100 });
  const replies = [];
  s.onMessage((m) => { if (m.topic === "phoenix" && m.event === "phx_reply") replies.push(m.payload); });
  await connected(s);
  await within(3000, "three heartbeat replies", (resolve) => {
    const check = setInterval(() => { if (replies.length >= 3) { clearInterval(check); resolve(); } }, 20);
  });
  assert.deepEqual(replies[0], { status: "ok", response: {} });
  assert.equal(s.isConnected(), true);
  s.disconnect();
});

test("the server's shutdown closes the socket with 1001; the client reconnects and rejoins", async () => {
  const s = socket("/socket");
  let opens = 0;
  s.onOpen(() => { opens += 1; });
  const closeCodes = [];
  s.onClose((event) => closeCodes.push(event.code));
  await connected(s);
  const ping = s.channel("ping", {});
  let joins = 0;
  ping.join().receive("ok", () => { joins += 1; });
  await within(5000, "first join", (resolve) => { const t = setInterval(() => { if (joins === 1) { clearInterval(t); resolve(); } }, 10); });

  await control("restart");
  await within(10000, "reconnect and rejoin", (resolve) => {
    const t = setInterval(() => { if (opens >= 2 && ping.state === "joined") { clearInterval(t); resolve(); } }, 20);
  });
  assert.equal(closeCodes[0], 1001, `going away, not a dropped connection: ${JSON.stringify(closeCodes)}`);
  assert.deepEqual(await push(ping, "ping", {}), { status: "ok", response: { ping: "pong" } });
  s.disconnect();
});
