import { Errors } from "./dataverseErrors.js";
import type { Store } from "./store.js";

export const DEFAULT_CHANGE_TRACKING_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** One item of a change-tracking result: a row to return whole, or a `$deletedEntity`. */
export interface DeltaEntry {
  id: string;
  deleted?: boolean;
}

/** `<version>!<MM/dd/yyyy HH:mm:ss>` in UTC, the shape of a Dataverse `$deltatoken` (doc §2). */
export function formatDeltaToken(version: number, at: number): string {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${version}!${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** URL-encodes a token the way Dataverse writes it into deltaLinks (`!` as `%21`). */
export function encodeDeltaToken(token: string): string {
  return encodeURIComponent(token).replace(/!/g, "%21");
}

export function parseDeltaToken(token: string): { version: number; at: number } | undefined {
  const m = /^(\d+)!(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(token.trim());
  if (!m) return undefined;
  const [, v, mo, d, y, h, mi, s] = m.map(Number);
  return { version: v, at: Date.UTC(y, mo - 1, d, h, mi, s) };
}

/**
 * Validates delta tokens against the retention window (Organization `ExpireChangeTrackingInDays`)
 * and explicit invalidation, and turns the store's change log into the ordered delta: changed rows
 * by version first, then deletes.
 */
export class ChangeTracking {
  private minVersion = 0;

  constructor(private readonly store: Store, private readonly retentionMs: number, private readonly now: () => number) {}

  /** Every token issued before this call fails with ExpiredVersionStamp from now on. */
  expireAll(): void {
    this.minVersion = this.store.bumpVersion();
  }

  newToken(version: number): string {
    return formatDeltaToken(version, this.now());
  }

  /** The token's version, or the documented 0x80044352 fault when it is too old. */
  check(token: string): number {
    const parsed = parseDeltaToken(token);
    if (!parsed) throw Errors.badQuery(`The delta token '${token}' is not valid.`);
    if (parsed.version < this.minVersion || this.now() - parsed.at > this.retentionMs) throw Errors.expiredToken();
    return parsed.version;
  }

  entriesSince(table: string, version: number): DeltaEntry[] {
    const last = new Map<string, { version: number; kind: "upsert" | "delete" }>();
    for (const e of this.store.changesSince(table, version)) last.set(e.id, { version: e.version, kind: e.kind });
    const upserts: [string, number][] = [];
    const deletes: [string, number][] = [];
    for (const [id, e] of last) (e.kind === "upsert" ? upserts : deletes).push([id, e.version]);
    upserts.sort((a, b) => a[1] - b[1]);
    deletes.sort((a, b) => a[1] - b[1]);
    return [...upserts.map(([id]) => ({ id })), ...deletes.map(([id]) => ({ id, deleted: true }))];
  }
}
