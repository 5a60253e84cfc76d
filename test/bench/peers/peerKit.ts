/**
 * What every peer script shares: a token from the same token endpoint, a `fetch` that honours
 * Retry-After exactly (in the emulated service's time, see `sleepServiceSeconds`), counters, and the
 * check after the run that every record arrived exactly once. No state store: a peer keeps nothing
 * between requests but its position in the input.
 */
import { loadSettings } from "../../../shared/config/settings.js";
import { createDataverseTokenProvider } from "../../../shared/dataverse/index.js";
import { contactBody } from "../benchData.js";

export interface PeerOptions {
  env: Record<string, string>;
  /** Simulated seconds per real second of the emulated service: Retry-After is in ITS seconds. */
  timeScale: number;
  /** Records to write (ids `<prefix>-0000000`…); the peer may stop earlier at `maxSeconds`. */
  records: number;
  /** Wall-time cap in real seconds (slow peers stop here; their rate is steady, so a part measures it). */
  maxSeconds: number;
  prefix: string;
}

export interface PeerRun {
  /** Records the peer believes it wrote (2xx answers). */
  sent: number;
  seconds: number;
  requests: number;
  throttled: number;
  waitedMs: number;
}

/** The key each peer writes: `hlf_mentorid`, the contact's alternate key. */
export const peerKey = (prefix: string, i: number) => `${prefix}-${String(i).padStart(7, "0")}`;
export const peerContact = (prefix: string, i: number) => ({ ...contactBody(i), hlf_mentorid: peerKey(prefix, i) });

export class PeerHttp {
  requests = 0;
  throttled = 0;
  waitedMs = 0;
  readonly serviceRoot: string;
  private readonly tokens: ReturnType<typeof createDataverseTokenProvider>;

  constructor(env: Record<string, string>, private readonly timeScale: number) {
    const d = loadSettings(env).dynamics;
    this.tokens = createDataverseTokenProvider({ instanceUrl: d.instanceUrl, tenantId: d.tenantId, clientId: d.clientId, authorityHost: d.authorityHost, clientSecret: d.credential.secret, credential: "secret" });
    this.serviceRoot = `${d.instanceUrl.replace(/\/$/, "")}/api/data/v9.2/`;
  }

  /** One request, sent again after each 429 once Retry-After has passed; any other answer is returned. */
  async send(path: string, init: { method: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }): Promise<{ status: number; headers: Headers; text: string }> {
    for (;;) {
      init.signal?.throwIfAborted();
      const res = await fetch(`${this.serviceRoot}${path}`, {
        method: init.method,
        headers: { Authorization: `Bearer ${await this.tokens.getToken()}`, Accept: "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0", ...init.headers },
        body: init.body,
        signal: init.signal,
      });
      this.requests += 1;
      const text = await res.text();
      if (res.status !== 429) return { status: res.status, headers: res.headers, text };
      this.throttled += 1;
      const waitMs = retryAfterRealMs(res.headers.get("retry-after"), this.timeScale);
      this.waitedMs += waitMs;
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/**
 * Retry-After's value, exactly as sent (delay-seconds, fractional ones included), as real ms: the
 * emulated service's seconds last 1 / timeScale real seconds. A missing or unreadable header waits
 * one service second, as Microsoft's retry sample does for its first attempt.
 */
export function retryAfterRealMs(header: string | null, timeScale: number): number {
  const seconds = Number(header?.trim());
  const s = header !== null && header.trim() !== "" && Number.isFinite(seconds) && seconds >= 0 ? seconds : 1;
  return (s * 1000) / timeScale;
}

/** Runs `lanes` workers that each take the next slice of `size` indexes until done or the time is up. */
export async function inLanes(o: PeerOptions, lanes: number, size: number, write: (from: number, to: number) => Promise<number>): Promise<{ sent: number; seconds: number }> {
  const started = performance.now();
  const deadline = started + o.maxSeconds * 1000;
  let next = 0;
  let sent = 0;
  const lane = async () => {
    while (next < o.records && performance.now() < deadline) {
      const from = next;
      next = Math.min(o.records, next + size);
      const written = await write(from, next); // not `sent += await …`: that reads `sent` before the await
      sent += written;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return { sent, seconds: (performance.now() - started) / 1000 };
}

export interface Arrival {
  /** Distinct keys of the range the peer sent that are in the store. */
  arrived: number;
  /** Keys the peer counted as written that are not in the store. */
  lost: number;
  /** Rows beyond one per key (a peer that re-sent what had already landed). */
  duplicated: number;
  exactlyOnce: boolean;
}

/**
 * Reads the emulator's store after the run: each key of `prefix` from 0 to `sent` must be there
 * once. Keys counts rows per key, so a table without the alternate key would show duplicates too.
 */
export function checkArrival(rows: Iterable<Record<string, unknown>>, prefix: string, sent: number): Arrival {
  const seen = new Map<string, number>();
  for (const r of rows) {
    const key = r.hlf_mentorid;
    if (typeof key === "string" && key.startsWith(`${prefix}-`)) seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  let lost = 0;
  for (let i = 0; i < sent; i++) if (!seen.has(peerKey(prefix, i))) lost += 1;
  let duplicated = 0;
  for (const n of seen.values()) duplicated += n - 1;
  return { arrived: seen.size, lost, duplicated, exactlyOnce: lost === 0 && duplicated === 0 && seen.size === sent };
}
