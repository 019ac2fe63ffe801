// The official `phoenix` client's Presence against two presence nodes.
//
// Run by tests/js_presence.rs, which starts two nodes and passes their addresses in
// APP and BACK (host:port): in one process (their trackers gossip over a shared
// pubsub or Redis), where BACK answers POST /test/stop by stopping as SIGTERM would
// stop a node; or as two `serve --redis` processes, where BACK_PID names the process
// the last test sends a real SIGTERM.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Presence, Socket } from "phoenix";
import WebSocket from "ws";

const APP = process.env.APP;
const BACK = process.env.BACK;
if (!APP || !BACK) throw new Error("set APP and BACK=host:port (tests/js_presence.rs does)");
// The trackers' broadcast period.
const PERIOD_MS = Number(process.env.PERIOD_MS ?? "50");
// Set when BACK is a process of its own: the stop is a real SIGTERM.
const BACK_PID = process.env.BACK_PID ? Number(process.env.BACK_PID) : null;
// Replication takes a few periods (a heartbeat to meet, a delta to carry a join).
const WAIT_MS = Math.max(5000, 4 * PERIOD_MS);

function socket(server) {
  const s = new Socket(`ws://${server}/socket`, { transport: WebSocket });
  s.connect();
  return s;
}

/** Resolves when `check()` is true (polled every 20 ms), or fails after WAIT_MS with `what`. */
async function until(what, check) {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Joins `topic` as `user` with a Presence recording onJoin/onLeave/onSync. */
async function joinWithPresence(sock, topic, user) {
  const channel = sock.channel(topic, user);
  const presence = new Presence(channel);
  const events = [];
  presence.onJoin((key, current, joined) => events.push(["join", key, joined.metas.length, current ? "known" : "new"]));
  presence.onLeave((key, current, left) => events.push(["leave", key, left.metas.length, current.metas.length]));
  let syncs = 0;
  presence.onSync(() => { syncs += 1; });
  const status = await new Promise((resolve) => {
    channel.join().receive("ok", () => resolve("ok")).receive("error", (r) => resolve(`error ${JSON.stringify(r)}`));
  });
  assert.equal(status, "ok", `join ${topic} as ${user.name}`);
  return { channel, presence, events, syncs: () => syncs };
}

/** `{key: [names...]}` from Presence.list, keys sorted. */
function names(presence) {
  const out = {};
  for (const [key, entry] of presence.list((key, entry) => [key, entry]).sort()) {
    out[key] = entry.metas.map((meta) => meta.name);
  }
  return out;
}

test("syncState, syncDiff, onJoin, onLeave and list across two nodes", async () => {
  const appSocket = socket(APP);
  const backSocket = socket(BACK);
  const phoneSocket = socket(BACK);
  try {
    const alice = await joinWithPresence(appSocket, "chat:lobby", { user_id: "1", name: "Alice" });
    await until("Alice sees herself (presence_state)", () => names(alice.presence)["user:1"]);
    assert.deepEqual(names(alice.presence), { "user:1": ["Alice"] });
    const meta = alice.presence.list((key, entry) => entry.metas[0])[0];
    assert.equal(typeof meta.phx_ref, "string", "metas carry phx_ref");
    assert.equal(typeof meta.online_at, "number");

    const bob = await joinWithPresence(backSocket, "chat:lobby", { user_id: "2", name: "Bob" });
    await until("Alice sees Bob, who joined on the other node", () => names(alice.presence)["user:2"]);
    await until("Bob sees Alice in his state", () => names(bob.presence)["user:1"]);
    assert.deepEqual(names(bob.presence), { "user:1": ["Alice"], "user:2": ["Bob"] });

    // Bob's second device: same key, a second meta.
    const phone = await joinWithPresence(phoneSocket, "chat:lobby", { user_id: "2", name: "Bob" });
    await until("Alice sees Bob's two connections", () => names(alice.presence)["user:2"]?.length === 2);
    assert.ok(
      alice.events.some(([kind, key, , current]) => kind === "join" && key === "user:2" && current === "known"),
      `the second device is a join of a known key: ${JSON.stringify(alice.events)}`,
    );

    // The phone leaves: Bob stays with one meta; then Bob leaves: the key goes.
    await new Promise((resolve) => phone.channel.leave().receive("ok", resolve));
    await until("Bob is down to one connection", () => names(alice.presence)["user:2"]?.length === 1);
    await new Promise((resolve) => bob.channel.leave().receive("ok", resolve));
    await until("Bob is gone", () => !names(alice.presence)["user:2"]);
    assert.deepEqual(names(alice.presence), { "user:1": ["Alice"] });
    const leaves = alice.events.filter(([kind, key]) => kind === "leave" && key === "user:2");
    assert.deepEqual(leaves.map(([, , left, remaining]) => [left, remaining]), [[1, 1], [1, 0]]);
    assert.ok(alice.syncs() >= 4, "onSync ran after the state and each diff");
  } finally {
    appSocket.disconnect();
    backSocket.disconnect();
    phoneSocket.disconnect();
  }
});

// Last: it stops the BACK node.
test("a node that stops gracefully closes its sockets with 1001 and its users leave the other node at once", async () => {
  const appSocket = socket(APP);
  const backSocket = socket(BACK);
  const closeCodes = [];
  backSocket.onClose((event) => closeCodes.push(event.code));
  try {
    const alice = await joinWithPresence(appSocket, "chat:lobby", { user_id: "1", name: "Alice" });
    await joinWithPresence(backSocket, "chat:lobby", { user_id: "2", name: "Bob" });
    await until("Alice sees Bob", () => names(alice.presence)["user:2"]);
    let bobLeftAt = null;
    alice.presence.onLeave((key) => { if (key === "user:2") bobLeftAt = Date.now(); });

    let stopped;
    if (BACK_PID !== null) {
      // A real SIGTERM to the BACK process.
      stopped = Date.now();
      process.kill(BACK_PID, "SIGTERM");
    } else {
      // What SIGTERM does to BACK: its tracker says goodbye, then its sockets close.
      const response = await fetch(`http://${BACK}/test/stop`, { method: "POST" });
      assert.equal(response.status, 202, "POST /test/stop");
      stopped = Date.now();
    }
    await until("Bob's socket is closed by the server", () => closeCodes.length > 0);
    assert.equal(closeCodes[0], 1001, `going away: ${JSON.stringify(closeCodes)}`);
    await until("Bob leaves Alice's list", () => bobLeftAt !== null);
    const took = Math.max(0, bobLeftAt - stopped);
    console.log(`Bob left Alice's list ${bobLeftAt - stopped} ms after BACK was ${BACK_PID === null ? "told to stop" : "sent SIGTERM"} (period ${PERIOD_MS} ms)`);
    assert.ok(
      took <= 2 * PERIOD_MS,
      `Bob left Alice's list ${took} ms after BACK was stopped: at most two broadcast periods (${2 * PERIOD_MS} ms), not the down period`,
    );
    assert.deepEqual(names(alice.presence), { "user:1": ["Alice"] });
  } finally {
    appSocket.disconnect();
    backSocket.disconnect();
  }
});
