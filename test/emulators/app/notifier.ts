import { createHmac } from "node:crypto";

export interface NotifyTarget {
  /** Where the change notices go, e.g. `<functions>/api/webhooks/app`; loopback only. */
  url: string;
  /** APP_WEBHOOK_SECRET. */
  secret: string;
}

export interface NoticeRecord {
  entity: string;
  ids: string[];
  status?: number;
  error?: string;
}

/**
 * The app's push side (product.md): on its own edits it POSTs `{"entity","ids"}` signed with
 * HMAC-SHA256 over `<X-Sync-Timestamp>.<raw body>` (unix seconds), `X-Sync-Signature: sha256=<hex>`.
 * Fire-and-forget like a real app; `idle()` lets tests wait for the notices in flight.
 */
export class Notifier {
  readonly sent: NoticeRecord[] = [];
  private target?: NotifyTarget;
  private readonly pending = new Set<Promise<void>>();

  constructor(target: NotifyTarget | undefined, private readonly now: () => number) {
    this.set(target);
  }

  set(target: NotifyTarget | undefined): void {
    if (target) {
      const host = new URL(target.url).hostname;
      if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) throw new TypeError("notify.url must be a loopback address");
    }
    this.target = target;
  }

  notify(entity: string, ids: string[]): void {
    const target = this.target;
    if (!target || !ids.length) return;
    const record: NoticeRecord = { entity, ids };
    this.sent.push(record);
    const body = JSON.stringify({ entity, ids });
    const timestamp = String(Math.floor(this.now() / 1000));
    const signature = createHmac("sha256", target.secret).update(`${timestamp}.${body}`).digest("hex");
    const p = fetch(target.url, {
      method: "POST", body, signal: AbortSignal.timeout(30_000),
      headers: { "content-type": "application/json", "x-sync-timestamp": timestamp, "x-sync-signature": `sha256=${signature}` },
    })
      .then(async (r) => { record.status = r.status; await r.arrayBuffer(); })
      .catch((e: unknown) => { record.error = (e as Error).name; })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}
