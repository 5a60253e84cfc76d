import type { ChangeTracking } from "./changeTracking.js";
import type { Entities } from "./entities.js";
import type { PageCursors } from "./odata/paging.js";
import type { Store } from "./store.js";
import type { EmuResponse } from "./types.js";

/** What the core routes share (one instance per emulator). */
export interface CoreParts {
  store: Store;
  entities: Entities;
  tracking: ChangeTracking;
  cursors: PageCursors;
  serviceRoot: string;
  organizationId: string;
  businessUnitId: string;
}

export const JsonHeaders = { "content-type": "application/json; odata.metadata=minimal", "odata-version": "4.0" } as const;

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): EmuResponse {
  return { status, headers: { ...JsonHeaders, ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) };
}

/** A raw query parameter as the client sent it (still encoded), for echoing into links. */
export function rawParam(url: URL, name: string): string | undefined {
  for (const part of url.search.replace(/^\?/, "").split("&")) {
    const eq = part.indexOf("=");
    const key = decodeURIComponentSafe(eq < 0 ? part : part.slice(0, eq));
    if (key === name) return part;
  }
  return undefined;
}

export function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
