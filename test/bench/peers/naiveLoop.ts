/**
 * The integration people hand-write: one `POST contacts` per record, one after another; on a 429 it
 * sleeps exactly what Retry-After says and sends the same record again.
 */
import { PeerHttp, peerContact, type PeerOptions, type PeerRun } from "./peerKit.js";

export async function naiveLoop(o: PeerOptions): Promise<PeerRun> {
  const http = new PeerHttp(o.env, o.timeScale);
  const started = performance.now();
  const deadline = started + o.maxSeconds * 1000;
  let sent = 0;
  while (sent < o.records && performance.now() < deadline) {
    const res = await http.send("contacts", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(peerContact(o.prefix, sent)) });
    if (res.status >= 300) throw new Error(`naive loop: POST contacts answered ${res.status}`);
    sent += 1;
  }
  return { sent, seconds: (performance.now() - started) / 1000, requests: http.requests, throttled: http.throttled, waitedMs: http.waitedMs };
}
