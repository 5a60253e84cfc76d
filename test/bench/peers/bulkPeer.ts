/**
 * The best peer, as Microsoft's parallel bulk sample and PPDS configure it: ask the service for its
 * recommended parallelism (`x-ms-dop-hint` on `WhoAmI`), then send CreateMultiple calls of 500
 * records (inside the documented 100–1,000) on that many lanes, each sent again after a 429 once
 * Retry-After has passed.
 */
import { inLanes, PeerHttp, peerContact, type PeerOptions, type PeerRun } from "./peerKit.js";

export const BEST_PEER_BULK_SIZE = 500;

export async function bulkPeer(o: PeerOptions, bulkSize = BEST_PEER_BULK_SIZE): Promise<PeerRun & { dop: number }> {
  const http = new PeerHttp(o.env, o.timeScale);
  const who = await http.send("WhoAmI", { method: "GET" });
  const hint = Number(who.headers.get("x-ms-dop-hint"));
  const dop = Number.isInteger(hint) && hint > 0 ? hint : 4;
  const { sent, seconds } = await inLanes(o, dop, bulkSize, async (from, to) => {
    const targets = [];
    for (let i = from; i < to; i++) targets.push({ ...peerContact(o.prefix, i), "@odata.type": "Microsoft.Dynamics.CRM.contact" });
    const res = await http.send("contacts/Microsoft.Dynamics.CRM.CreateMultiple", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ Targets: targets }) });
    if (res.status >= 300) throw new Error(`bulk peer: CreateMultiple answered ${res.status}`);
    return to - from;
  });
  return { sent, seconds, requests: http.requests, throttled: http.throttled, waitedMs: http.waitedMs, dop };
}
