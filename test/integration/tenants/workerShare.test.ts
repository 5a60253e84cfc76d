import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger, RunRecord } from "../../../shared/ports.js";
import { startLocalRunner, type LocalRunner } from "../../../shared/runtime/localRunner.js";
import type { Services } from "../../../shared/runtime/services.js";
import { HostQueueSettings } from "../../../shared/runtime/queuePump.js";
import { tenantsOf } from "../../../shared/tenants/tenants.js";
import { GROUPS, groupId, mentorRecord } from "../../bench/benchData.js";
import { registerTenants, startTenantStack, taggedSeed, type TenantStack } from "./tenantStack.js";

/**
 * The worker share under a real load, through the storage queues (Azurite) and the local runner,
 * which calls the registered queue functions as the host does. Tenant "big" loads BIG records in
 * write messages of CHUNK (its bulk writes held until released), "small" then runs its scheduled
 * delta. Without the fair share big's messages would take every lane of the shared write queue.
 */
const BIG = 1_500;
const CHUNK = 20;
const GATED = 5 * CHUNK;
/** Messages of one queue the host (and the local runner) runs at once: host.json's batchSize + newBatchThreshold. */
const HOST_LANES = 12;

const seedOf = (tenant: string) => tenant === "small" ? taggedSeed("(small)") : {
  group: Array.from({ length: GROUPS }, (_, g) => ({ id: groupId(g), data: { name: `Group ${g}`, region: tenant } })),
  mentor: Array.from({ length: tenant === "big" ? BIG : GATED }, (_, i) => mentorRecord(i)),
};

/** Holds the bulk contact writes sent to one origin until released (a deterministic "slow" Dataverse). */
function gate() {
  let origin: string | undefined;
  let release: () => void = () => undefined;
  let opened = Promise.resolve();
  let waiting = 0;
  const held = (url: string) => origin !== undefined && url.startsWith(origin) && /contacts\/Microsoft\.Dynamics\.CRM\.\w+Multiple/.test(url);
  return {
    close(target: string) {
      origin = target;
      opened = new Promise<void>((r) => (release = r));
    },
    open() {
      origin = undefined;
      release();
    },
    /** Requests held now. */
    waiting: () => waiting,
    fetch: (async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (held(url)) {
        waiting++;
        await opened.finally(() => waiting--);
      }
      return fetch(input, init);
    }) as typeof fetch,
  };
}

describe("a tenant's big load does not hold back another tenant's scheduled run (fair share of the workers)", () => {
  let stack: TenantStack;
  let runner: LocalRunner;
  let big: Services, small: Services, gated: Services;
  const debug: string[] = [];
  const warnings: string[] = [];
  const held = gate();

  beforeAll(async () => {
    const logger: Logger = {
      debug: (m) => void debug.push(m),
      info: () => undefined,
      warn: (m) => void warnings.push(m),
      error: (m) => void warnings.push(m),
    };
    stack = await startTenantStack({
      tenants: ["big", "small", "gated"], queues: "storage", seed: seedOf, lightLogs: true, logger,
      configOptions: { chunkSize: CHUNK }, dataverseFetch: held.fetch,
    });
    await registerTenants(stack);
    [big, small, gated] = await Promise.all(["big", "small", "gated"].map((id) => tenantsOf(stack.base).services(id)));
    runner = await startLocalRunner(stack.base, { host: "127.0.0.1", port: 0, schedule: "", pollMs: 100 });
  }, 60_000);
  afterAll(async () => {
    held.open();
    await runner?.stop();
    await stack?.stop();
  });

  const runsOf = async (s: Services, ids: string[]) => Promise.all(ids.map(async (id) => (await s.state.getRun(id))!));
  const ended = (r: RunRecord) => ["succeeded", "completed_with_failures", "failed"].includes(r.status);
  /** Waits (polling the tenant's run rows) until `done` holds for them. */
  async function until(s: Services, ids: string[], done: (runs: RunRecord[]) => boolean): Promise<RunRecord[]> {
    for (;;) {
      const runs = await runsOf(s, ids);
      if (done(runs)) return runs;
      await delay(50);
    }
  }
  const contactsOnce = (s: TenantStack["tenants"][string]) => {
    const ids = s.dataverse.rows("contact").map((r) => String(r.hlf_mentorid));
    return { count: ids.length, distinct: new Set(ids).size };
  };

  it("small's delta run finishes while big's writes are held and the rest of big's messages wait, and every record arrives once", async () => {
    // Big's Dataverse holds every bulk write until the test opens it: its load occupies whatever
    // lanes it is given, for as long as the test likes. Without the fair share it takes every lane
    // of the shared write queue and small's messages are never received (the test then times out).
    held.close(stack.tenants.big.dataverse.origin);
    const bigRuns = (await big.engine.startRuns({ mode: "full", dryRun: false, trigger: "manual" })).map((r) => r.runId);
    while (held.waiting() < 4) await delay(50);

    const smallRuns = (await small.engine.startRuns({ mode: "delta", dryRun: false, trigger: "timer" })).map((r) => r.runId);
    const smallDone = await until(small, smallRuns, (runs) => {
      // Without the fair share big takes every lane: say so now rather than at the test's timeout.
      if (held.waiting() > 4) throw new Error(`big has ${held.waiting()} bulk writes under way at once, over its share of 4`);
      return runs.every(ended);
    });
    const heldThen = held.waiting();
    const [, bigMentors] = await runsOf(big, bigRuns);
    held.open();
    await runner.idle();
    const bigDone = await runsOf(big, bigRuns);

    expect(smallDone.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    // When small had finished, big had its share of bulk writes under way (4 of a queue's
    // HOST_LANES), none of its records written yet, and the rest of its messages waiting.
    expect(heldThen).toBe(4);
    expect(HOST_LANES).toBeGreaterThan(heldThen);
    expect(bigMentors).toMatchObject({ status: "writing", processed: 0 });
    expect(bigDone.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    expect(bigDone[1]).toMatchObject({ planned: BIG, processed: BIG });
    expect(contactsOnce(stack.tenants.big)).toEqual({ count: BIG, distinct: BIG });
    const smallMentors = taggedSeed("(small)").mentor.length;
    expect(contactsOnce(stack.tenants.small)).toEqual({ count: smallMentors, distinct: smallMentors });
    expect(stack.tenants.small.dataverse.rows("contact").every((r) => String(r.lastname).endsWith("(small)"))).toBe(true);
    expect(debug.some((m) => /tenant big is at its fair share/.test(m))).toBe(true);
  }, 180_000);

  it("a message deferred more often than maxDequeueCount is still written once, never poisoned", async () => {
    held.close(stack.tenants.gated.dataverse.origin);
    const deferrals = () => debug.filter((m) => /tenant gated is at its fair share/.test(m)).length;
    const runs = (await gated.engine.startRuns({ mode: "full", dryRun: false, trigger: "manual" })).map((r) => r.runId);
    // Four of its five write messages hold the tenant's share (their writes held); from then on
    // the fifth alone is deferred, comes back, and is deferred again. The host polls a queue again
    // while no more than newBatchThreshold (4) of its messages run; the test starts the runner's
    // lanes again (idle() does) as that poll would, whatever rule the runner's own polling follows.
    const settled: Promise<void>[] = [];
    const kick = async () => {
      settled.push(runner.idle());
      await delay(500);
    };
    while (held.waiting() < 4) await kick();
    const before = deferrals();
    while (deferrals() - before <= HostQueueSettings.maxDequeueCount) await kick();
    held.open();
    await Promise.all(settled);
    await runner.idle();
    const done = await runsOf(gated, runs);

    expect(done.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    expect(done[1]).toMatchObject({ planned: GATED, processed: GATED });
    expect(contactsOnce(stack.tenants.gated)).toEqual({ count: GATED, distinct: GATED });
    const poison = (gated.queues.dataverseWrites as unknown as { poison(): { approximateCount(): Promise<number> } }).poison();
    expect(await poison.approximateCount()).toBe(0);
    expect(warnings.filter((m) => /MaxDequeueCount/.test(m))).toEqual([]);
  }, 120_000);
});
