/**
 * Heap a run's whole link index takes per link: `node scripts/node22.mjs --expose-gc --import tsx test/bench/linkIndexBytes.ts [links]`.
 * The links are built as the Table store hands them out (strings and a base parsed from JSON, the
 * benchmark's mentor mapping of 11 fields) and held as LinkIndex.open holds them (by app id and by
 * Dataverse id). What a run held before a delta read only its own records' links (issue #18, round 11).
 */
import type { Link } from "../../shared/ports.js";

const n = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");
gc();
const before = process.memoryUsage().heapUsed;
const byApp = new Map<string, Link>();
const byDv = new Map<string, Link>();
for (let i = 0; i < n; i++) {
  const base = JSON.parse(JSON.stringify({
    firstName: `First${i}`, lastName: `Last${i}`, email: `mentor${i}@example.org`, certificationStatus: "active", certifiedUntil: "2027-01-31",
    score: i % 100, hourlyRate: 300 + i / 4, isPublic: true, groupId: `5a0e0f2c-6a39-4c3e-8d4b-${String(i % 10).padStart(12, "0")}`, lastContactAt: null, active: true,
  }));
  const link: Link = {
    mapping: "mentors", appId: `m-${100_000 + i}`, dataverseId: `c0a80001-0000-4000-8000-${String(i).padStart(12, "0")}`, base,
    hash: ((i * 2654435761) >>> 0).toString(16).padStart(8, "0").repeat(8), appVersion: String(i), dataverseVersion: String(1_000_000 + i),
    lastSyncedAt: new Date(1_796_600_000_000 + i).toISOString(), etag: `W/"datetime'2026-12-07T19%3A00%3A00.${i}Z'"`,
  };
  byApp.set(link.appId, link);
  byDv.set(link.dataverseId, link);
}
gc();
const bytes = process.memoryUsage().heapUsed - before;
console.log(`${byApp.size} links held by app id and by Dataverse id: ${(bytes / 1e6).toFixed(1)} MB of heap, ${Math.round(bytes / byDv.size)} bytes a link`);
