import { randomBytes } from "node:crypto";
import type { DeltaEntry } from "../changeTracking.js";

/** The ordered result of a query, kept so later pages are cheap and stable while paging. */
export interface Snapshot {
  entries: DeltaEntry[];
  /** For change tracking: the version the final deltaLink carries. */
  deltaVersion?: number;
  delta?: boolean;
}

const MAX_CURSORS = 200;

/** Snapshots by cursor id; the oldest are dropped so long benchmarks do not leak memory. */
export class PageCursors {
  private readonly map = new Map<string, Snapshot>();

  save(snapshot: Snapshot): string {
    const id = randomBytes(8).toString("hex");
    this.map.set(id, snapshot);
    if (this.map.size > MAX_CURSORS) this.map.delete(this.map.keys().next().value!);
    return id;
  }

  get(id: string): Snapshot | undefined {
    return this.map.get(id);
  }
}

/**
 * `$skiptoken` shaped like Dataverse's paging cookie (doc §12): an XML `cookie` element whose
 * `pagingcookie` attribute is a twice URL-encoded inner cookie naming the last row of the page.
 */
export function buildSkipToken(opts: { page: number; cursor: string; offset: number; primaryId: string; first: string; last: string; tracking: boolean }): string {
  const inner = `<cookie page="${opts.page}" emucursor="${opts.cursor}" emuoffset="${opts.offset}"><${opts.primaryId} last="{${opts.last.toUpperCase()}}" first="{${opts.first.toUpperCase()}}" /></cookie>`;
  const pagingCookie = encodeURIComponent(encodeURIComponent(inner));
  return `<cookie pagenumber="${opts.page + 1}" pagingcookie="${pagingCookie}" istracking="${opts.tracking ? "True" : "False"}" />`;
}

export function parseSkipToken(token: string): { cursor: string; offset: number; page: number } | undefined {
  const pc = /pagingcookie="([^"]*)"/.exec(token);
  const page = /pagenumber="(\d+)"/.exec(token);
  if (!pc || !page) return undefined;
  let inner: string;
  try {
    inner = decodeURIComponent(decodeURIComponent(pc[1]));
  } catch {
    return undefined;
  }
  const cursor = /emucursor="([0-9a-f]+)"/.exec(inner);
  const offset = /emuoffset="(\d+)"/.exec(inner);
  if (!cursor || !offset) return undefined;
  return { cursor: cursor[1], offset: Number(offset[1]), page: Number(page[1]) };
}
