import type { ConflictRecord, DeadLetter, Link, RunRecord } from "../../../shared/ports.js";

const zero = () => ({ created: 0, updated: 0, deleted: 0, skipped: 0, failed: 0 });

export function aRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: "run-1", mapping: "mentors", mode: "delta", trigger: "manual", dryRun: false, status: "queued",
    startedAt: "2025-01-01T02:00:00.000Z", toDataverse: zero(), toApp: zero(), conflicts: 0, planned: 0, processed: 0, notes: [],
    ...overrides,
  };
}

export function aLink(overrides: Partial<Link> = {}): Link {
  return {
    mapping: "mentors", appId: "m-0001", dataverseId: "00000000-0000-0000-0000-000000000001",
    base: { firstName: "Ada", score: 7, certifiedUntil: "2025-12-31", isPublic: true, groupId: null },
    hash: "h1", appVersion: "3", dataverseVersion: "W/\"100\"", lastSyncedAt: "2025-01-01T02:00:00.000Z",
    ...overrides,
  };
}

export function aDeadLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    id: "dl-1", mapping: "mentors", direction: "toDataverse", recordId: "m-0001", code: "UNMAPPABLE_VALUE",
    message: "certificationStatus 'lapsed' is not in the choice map", attempts: 3,
    firstFailedAt: "2025-01-01T02:00:00.000Z", lastFailedAt: "2025-01-01T02:05:00.000Z", runId: "run-1",
    payload: { kind: "upsert", key: { hlf_mentorid: "m-0001" }, body: { hlf_score: 7 } },
    ...overrides,
  };
}

export function aConflict(overrides: Partial<ConflictRecord> = {}): ConflictRecord {
  return {
    id: "c-1", mapping: "mentors", appId: "m-0001", dataverseId: "00000000-0000-0000-0000-000000000001",
    fields: [{ field: "score", app: 8, dataverse: 9, base: 7 }],
    appUpdatedAt: "2025-01-01T01:00:00.000Z", dataverseModifiedOn: "2025-01-01T01:30:00.000Z",
    detectedAt: "2025-01-01T02:00:00.000Z", runId: "run-1", status: "open",
    ...overrides,
  };
}

/** Ids that are illegal or awkward in Table keys, or that the escaping itself could confuse. */
export const awkwardIds = ["a/b\\c#d?e", "tab\there", "it's 100%", "~tilde", "%2F", "ü 😀", "a|b", ".."];

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
