/**
 * `$batch` peers: Azure Data Factory's default Dataverse sink (upserts by alternate key, 10 to a
 * batch) and a KingswaySoft-style destination ($batch of 100 creates on 16 threads). Each batch is
 * sent again whole after a 429 (nothing ran); a part that fails is not retried, as a sink without
 * fault tolerance configured reports it and goes on.
 */
import { randomUUID } from "node:crypto";
import { inLanes, PeerHttp, peerContact, peerKey, type PeerOptions, type PeerRun } from "./peerKit.js";

export interface BatchPeerShape {
  batchSize: number;
  lanes: number;
  /** upsert: `PATCH contacts(hlf_mentorid='…')`; create: `POST contacts`. */
  operation: "upsert" | "create";
}

/** ADF: writeBatchSize 10 (documented default), writeBehavior upsert; copy parallelism is chosen by the service (assumed 4). */
export const ADF_DEFAULT_SINK: BatchPeerShape = { batchSize: 10, lanes: 4, operation: "upsert" };
/** KingswaySoft-style: batches of 100 on 16 threads. */
export const BATCH_100_X16: BatchPeerShape = { batchSize: 100, lanes: 16, operation: "create" };

export async function batchSink(o: PeerOptions, shape: BatchPeerShape): Promise<PeerRun> {
  const http = new PeerHttp(o.env, o.timeScale);
  const { sent, seconds } = await inLanes(o, shape.lanes, shape.batchSize, async (from, to) => {
    const boundary = `batch_${randomUUID()}`;
    const parts: string[] = [];
    for (let i = from; i < to; i++) {
      const body = peerContact(o.prefix, i);
      const line = shape.operation === "upsert"
        ? `PATCH ${http.serviceRoot}contacts(hlf_mentorid='${peerKey(o.prefix, i)}') HTTP/1.1`
        : `POST ${http.serviceRoot}contacts HTTP/1.1`;
      parts.push(`--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${line}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(body)}\r\n`);
    }
    const res = await http.send("$batch", {
      method: "POST",
      headers: { "Content-Type": `multipart/mixed; boundary=${boundary}`, Prefer: "odata.continue-on-error" },
      body: `${parts.join("")}--${boundary}--\r\n`,
    });
    if (res.status >= 300) throw new Error(`$batch peer: the batch answered ${res.status}`);
    return (res.text.match(/^HTTP\/1\.1 2\d\d/gm) ?? []).length;
  });
  return { sent, seconds, requests: http.requests, throttled: http.throttled, waitedMs: http.waitedMs };
}
