import type { Grant } from "./budgetStore.js";

/** Entries the row keeps at most: the JSON stays far below Table Storage's 64 KB property limit. */
const MAX_ENTRIES = 400;

export interface WindowUse {
  requests: number;
  executionMs: number;
}

export function sumOf(grants: readonly Grant[]): WindowUse {
  let requests = 0;
  let executionMs = 0;
  for (const [, n, ms] of grants) {
    requests += n;
    executionMs += ms;
  }
  return { requests, executionMs };
}

/**
 * Real ms until enough of the oldest grants leave the window (each `span` after it was made) for
 * `fits` to hold again; `span` when nothing in the row would do (the row is all give-backs).
 */
export function msUntilFree(grants: readonly Grant[], now: number, span: number, fits: (use: WindowUse) => boolean): number {
  const used = sumOf(grants);
  const sorted = [...grants].sort((a, b) => a[0] - b[0]);
  for (const [at, n, ms] of sorted) {
    used.requests -= n;
    used.executionMs -= ms;
    if (fits(used)) return Math.max(1, at + span - now);
  }
  return span;
}

/**
 * Merges the oldest entries pairwise when the row grows too long. A merged entry takes the later
 * date, so it leaves the window later than its parts would: the row can only overstate use.
 */
export function compact(grants: Grant[]): Grant[] {
  if (grants.length <= MAX_ENTRIES) return grants;
  const sorted = [...grants].sort((a, b) => a[0] - b[0]);
  const excess = sorted.length - MAX_ENTRIES;
  const merged: Grant[] = [];
  for (let i = 0; i < excess * 2; i += 2) {
    const [, n1, ms1] = sorted[i];
    const [at2, n2, ms2] = sorted[i + 1];
    merged.push([at2, n1 + n2, ms1 + ms2]);
  }
  return [...merged, ...sorted.slice(excess * 2)];
}
