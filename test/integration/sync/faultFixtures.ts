import { Queues } from "../../../shared/names.js";
import type { Clock } from "../../../shared/ports.js";
import type { Services } from "../../../shared/runtime/services.js";
import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";
import { SyncEngine } from "../../../shared/sync/engine.js";
import type { SyncHarness } from "../../support/syncHarness.js";

/** A valid app mentor; `n` makes the id (m-1000 + n) and the names unique. */
export function mentorData(n: number, overrides: Record<string, unknown> = {}): { id: string; data: Record<string, unknown> } {
  return {
    id: `m-${1000 + n}`,
    data: {
      firstName: `First${n}`, lastName: `Last${n}`, email: `mentor${n}@example.org`,
      certificationStatus: "active", certifiedUntil: "2027-01-31", score: n % 100, hourlyRate: 300 + n / 4,
      isPublic: true, groupId: n % 2 ? "g-north" : "g-south", lastContactAt: null, active: true,
      ...overrides,
    },
  };
}

/** Adds `count` new mentors to the app (they enter its change feed); returns their ids. */
export function addMentors(h: SyncHarness, count: number, from = 1): string[] {
  const ids: string[] = [];
  for (let n = from; n < from + count; n++) {
    const { id, data } = mentorData(n);
    h.stack.app.put("mentor", id, data);
    ids.push(id);
  }
  return ids;
}

/** How many contacts carry each hlf_mentorid (duplicates show as counts above 1). */
export function contactsByMentorId(h: SyncHarness): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of h.stack.dataverse.rows("contact")) {
    const key = String(c.hlf_mentorid);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** How many app mentors point at each Dataverse id (a duplicated POST shows as a count above 1). */
export function appMentorsByDataverseId(h: SyncHarness): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of h.stack.app.list("mentor")) {
    if (!r.dataverseId) continue;
    counts.set(r.dataverseId, (counts.get(r.dataverseId) ?? 0) + 1);
  }
  return counts;
}

export const duplicatesOf = (counts: Map<string, number>) => [...counts].filter(([, n]) => n > 1).map(([k]) => k);

/**
 * A clock whose sleeps pass at once by moving its time forward: the product's back-off (HTTP retries,
 * delayed queue messages) runs on the injected clock, so the waits are honoured in its time without
 * the test waiting for them. `slept` lists every wait asked for.
 */
export function skippingClock(): Clock & { slept: number[] } {
  let offset = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => Date.now() + offset,
    sleep: async (ms: number) => {
      slept.push(ms);
      offset += Math.max(0, ms);
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

/** A new process on the same tables and the same remote systems: new engine, empty in-memory queues. */
export function restartedServices(s: Services): Services {
  const queues = {
    runs: new MemoryWorkQueue<never>(Queues.runs, s.clock),
    dataverseWrites: new MemoryWorkQueue<never>(Queues.dataverseWrites, s.clock),
    appWrites: new MemoryWorkQueue<never>(Queues.appWrites, s.clock),
    recordEvents: new MemoryWorkQueue<never>(Queues.recordEvents, s.clock),
  };
  return { ...s, queues, engine: new SyncEngine({ ...s.engine.deps, queues }) };
}

/** Plans a delta run of `mapping` without writing it: its writes wait on the (in-memory) queues. Returns the run id. */
export async function planOnly(h: SyncHarness, mapping = "mentors", mode: "delta" | "full" = "delta"): Promise<string> {
  const { engine, queues } = h.services;
  const relieve = engine.deps.relieve;
  engine.deps.relieve = undefined;
  await engine.startRuns({ mapping, mode, dryRun: false, trigger: "cli" });
  const [runMsg] = await queues.runs.receive(1, 60_000);
  await engine.handleRun(runMsg.body);
  await queues.runs.complete(runMsg);
  engine.deps.relieve = relieve;
  return runMsg.body.runId;
}
