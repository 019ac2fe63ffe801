// The read-buffer measurement of slides/src/section3/part1/buffer-tradeoffs.md (not a
// test): C connections each send M heartbeats padded to SIZE bytes, one at a time
// (each waits for its reply), to a server started with
// `cargo run -p section2-channels --release -- serve --solution --read-buffer N`.
// Usage: node read_cost.mjs <host:port> <C> <M> <SIZE>; count the server's reads
// meanwhile with `strace -c -f -p <server pid>` (recvfrom calls).
import WebSocket from 'ws';
const [addr, cStr, mStr, sizeStr] = process.argv.slice(2);
const C = Number(cStr), M = Number(mStr), SIZE = Number(sizeStr);
const pad = 'x'.repeat(Math.max(0, SIZE - 48));
async function one(i) {
  const ws = new WebSocket(`ws://${addr}/socket/websocket?vsn=2.0.0`);
  await new Promise((r, j) => { ws.on('open', r); ws.on('error', j); });
  let pending = null;
  ws.on('message', () => { const p = pending; pending = null; p && p(); });
  for (let k = 0; k < M; k++) {
    await new Promise((r) => { pending = r; ws.send(`[null,"${k}","phoenix","heartbeat",{"pad":"${pad}"}]`); });
  }
  ws.close();
}
const t = Date.now();
await Promise.all(Array.from({ length: C }, (_, i) => one(i)));
console.log(`sent ${C * M} messages of ${SIZE} B in ${(Date.now() - t)} ms`);
