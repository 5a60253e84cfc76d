/**
 * Heap a run's link index takes per link: `node scripts/node22.mjs --expose-gc --import tsx test/bench/linkIndexBytes.ts [links]`.
 * The links are built as the Table store hands them out (strings and a base parsed from JSON, the
 * benchmark's mentor mapping of 11 fields) and held two ways: whole, by app id and by Dataverse id
 * (what a complete read held before; a delta read only its own records' links: issue #18, round 11),
 * and as the digests a complete read holds now (HeldLinks: ids, hash, app version).
 */
import type { Link } from "../../shared/ports.js";
import { HeldLinks } from "../../shared/sync/heldLinks.js";

const n = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

function linkOf(i: number): Link {
  const base = JSON.parse(JSON.stringify({
    firstName: `First${i}`, lastName: `Last${i}`, email: `mentor${i}@example.org`, certificationStatus: "active", certifiedUntil: "2027-01-31",
    score: i % 100, hourlyRate: 300 + i / 4, isPublic: true, groupId: `5a0e0f2c-6a39-4c3e-8d4b-${String(i % 10).padStart(12, "0")}`, lastContactAt: null, active: true,
  }));
  return {
    mapping: "mentors", appId: `m-${100_000 + i}`, dataverseId: `c0a80001-0000-4000-8000-${String(i).padStart(12, "0")}`, base,
    hash: ((i * 2654435761) >>> 0).toString(16).padStart(8, "0").repeat(8), appVersion: String(i), dataverseVersion: String(1_000_000 + i),
    lastSyncedAt: new Date(1_796_600_000_000 + i).toISOString(), etag: `W/"datetime'2026-12-07T19%3A00%3A00.${i}Z'"`,
  };
}

/** Heap held by what `hold` builds (kept alive until measured), in bytes. */
function heldBytes(hold: () => unknown): number {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const kept = hold();
  gc!();
  const bytes = process.memoryUsage().heapUsed - before;
  if (!kept) throw new Error("nothing held");
  return bytes;
}

const report = (what: string, bytes: number) => console.log(`${n} links ${what}: ${(bytes / 1e6).toFixed(1)} MB of heap, ${Math.round(bytes / n)} bytes a link`);

report("held whole, by app id and by Dataverse id", heldBytes(() => {
  const byApp = new Map<string, Link>();
  const byDv = new Map<string, Link>();
  for (let i = 0; i < n; i++) {
    const link = linkOf(i);
    byApp.set(link.appId, link);
    byDv.set(link.dataverseId, link);
  }
  return [byApp, byDv];
}));
report("held as digests (HeldLinks)", heldBytes(() => {
  const held = new HeldLinks();
  for (let i = 0; i < n; i++) {
    // As the Table store lists digests: fresh strings, no base.
    const { appId, dataverseId, hash, appVersion } = linkOf(i);
    held.add({ appId: `${appId}`, dataverseId: `${dataverseId}`, hash: `${hash}`, appVersion: `${appVersion}` });
  }
  return held;
}));
