/**
 * The "sync process" of the crash test (test/integration/sync/crashKill.test.ts): the product's
 * services on real Storage queues and tables (Azurite), pumped the way the local runner and the
 * Functions host pump them. The test kills this process with SIGKILL at random points and starts it
 * again, so it keeps no state of its own: everything it knows comes from the queues and tables.
 *
 * Usage: node --import tsx test/support/crashChild.ts '<CrashChildOptions as JSON>' (the test runs
 * it bundled with esbuild instead, which starts in half the time on a busy machine).
 * Settings come from the environment, as in Azure (the test passes the emulator stack's settings).
 *
 * On start it watches the latest run of each mapping that is still active, and starts a delta run of
 * every mapping that has none (what the scheduled tick does). It exits 0 once every run it watches
 * has finished and every queue is empty. Progress goes to stdout, one line per step, written
 * synchronously (stdout is a pipe), so a line read by the test was printed before the next step
 * began: the test kills on these lines to land inside planning, between a write and its link, etc.
 */
import { loadSyncConfig } from "../../shared/config/loadConfig.js";
import { loadSettings } from "../../shared/config/settings.js";
import { errorMessage } from "../../shared/errors.js";
import type { RunRecord, WorkQueue } from "../../shared/ports.js";
import { recordPoisonMessage } from "../../shared/runtime/poison.js";
import { ContinuousPump, engineQueues, type PumpQueue } from "../../shared/runtime/queuePump.js";
import { createServices, type Services } from "../../shared/runtime/services.js";
import { RecordingTelemetry } from "../../shared/runtime/telemetry.js";
import { compactReads } from "../../shared/sync/compactRead.js";
import { wholeLinks } from "../../shared/sync/linkIndex.js";
import { defaultRegistry } from "../../shared/sync/registry.js";
import { writeOpsOf, type WriteMessage } from "../../shared/sync/writeOps.js";
import { CrashChildExit, type CrashChildOptions } from "./crashProtocol.js";

const active = new Set<RunRecord["status"]>(["queued", "planning", "writing"]);
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const options = JSON.parse(process.argv[2] ?? "{}") as CrashChildOptions;
  if (options.largeMappingPlans) {
    compactReads.above = 0;
    wholeLinks.upTo = 0;
  }
  const started = Date.now();
  const settings = loadSettings(process.env);
  const config = await loadSyncConfig(settings.configPath, { registry: defaultRegistry.names() });
  const s = await createServices({
    settings, config, queues: "storage", tablePrefix: options.tablePrefix, queuePrefix: options.queuePrefix, telemetry: new RecordingTelemetry(),
  });
  const pumps = instrument(s, options.queuePrefix);
  const lease = { ms: options.leaseMs, renewEveryMs: Math.max(200, Math.floor(options.leaseMs / 4)) };
  const pump = new ContinuousPump(pumps, (queue, message, error) => {
    say(`poison ${queue.slice(options.queuePrefix.length)} ${error}`);
    return recordPoisonMessage(s, queue, message.body, error);
  }, options.width, lease);
  say("ready");

  const watched = await startOrWatchRuns(s, options.trigger ?? "timer");
  const queues = [...pumps.map((p) => p.queue), ...pumps.map((p) => (p.queue as { poison?: () => WorkQueue<unknown> }).poison?.()).filter((q): q is WorkQueue<unknown> => !!q)];
  let emptySince: number | undefined;
  for (;;) {
    pump.kick();
    await pump.idle();
    const counts = await Promise.all(queues.map((q) => q.approximateCount()));
    const runs = await Promise.all(watched.map(async (id) => (await s.state.getRun(id))!));
    const open = runs.filter((r) => active.has(r.status));
    const empty = counts.every((c) => c === 0);
    if (empty && !open.length) {
      for (const r of runs) say(`finished ${r.mapping} ${r.runId} ${r.status} planned=${r.planned} processed=${r.processed} written=${written(r)} failed=${r.toDataverse.failed + r.toApp.failed}`);
      say("settled");
      return CrashChildExit.settled;
    }
    emptySince = empty ? (emptySince ?? Date.now()) : undefined;
    // Counts include hidden messages, and a handler sends what follows before it completes its own
    // message: empty queues mean no watched run can move any more.
    if (emptySince !== undefined && Date.now() - emptySince > (options.stallMs ?? 2_000)) {
      for (const r of open) say(`stalled ${r.mapping} ${r.runId} ${r.status} planned=${r.planned} processed=${r.processed}: every queue is empty, so nothing can finish this run`);
      return CrashChildExit.stalled;
    }
    if (Date.now() - started > (options.maxMs ?? 120_000)) {
      say(`timeout queues=${counts.join(",")} open=${open.map((r) => `${r.mapping}:${r.status}:${r.processed}/${r.planned}`).join(",")}`);
      return CrashChildExit.timedOut;
    }
    // Delayed messages (retries, a child run waiting for its parent) are invisible until due: poll,
    // as the local runner does.
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
}

/** Runs to wait for: each mapping's latest run if still active, else a new delta run (what the timer does). */
async function startOrWatchRuns(s: Services, trigger: "timer" | "manual"): Promise<string[]> {
  const watched: string[] = [];
  for (const mapping of trigger === "timer" ? s.engine.mappingNames : []) {
    const [latest] = await s.state.listRuns({ mapping, limit: 1 });
    if (latest && active.has(latest.status)) {
      say(`watch ${mapping} ${latest.runId} ${latest.status}`);
      watched.push(latest.runId);
    }
  }
  // The timer trigger skips a mapping whose latest run is still active, so nothing is started twice.
  for (const run of await s.engine.startRuns({ mode: "delta", dryRun: false, trigger })) {
    say(`start ${run.mapping} ${run.runId}`);
    watched.push(run.runId);
  }
  return watched;
}

const written = (r: RunRecord) => [r.toDataverse, r.toApp].reduce((n, c) => n + c.created + c.updated + c.deleted, 0);

/**
 * Prints a line after each step that a crash could separate from the next: sends, handled messages,
 * completions, Dataverse and app writes, link and cursor saves, run status changes. The engine holds
 * these same objects, so wrapping their methods observes the product without changing it.
 */
function instrument(s: Services, queuePrefix: string): PumpQueue[] {
  // Lines name queues without the test's prefix, so kill points read the same in every run.
  const nameOf = (q: WorkQueue<unknown>) => q.name.slice(queuePrefix.length);
  const after = <T extends object>(target: T, method: keyof T & string, line: (args: unknown[], result: unknown) => string) => {
    const original = (target[method] as (...a: unknown[]) => Promise<unknown>).bind(target);
    (target as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      const result = await original(...args);
      say(line(args, result));
      return result;
    };
  };
  for (const q of Object.values(s.queues) as WorkQueue<unknown>[]) {
    after(q, "send", ([body]) => `send ${nameOf(q)} ops=${opsIn(body)}`);
    after(q, "complete", () => `complete ${nameOf(q)}`);
  }
  after(s.dataverse, "writeMany", ([, , writes]) => `dataverse writeMany ${(writes as unknown[]).length}`);
  for (const m of ["create", "update", "upsertByKey", "delete"] as const) after(s.dataverse, m, () => `dataverse ${m}`);
  for (const m of ["create", "update", "delete"] as const) after(s.app, m, () => `app ${m}`);
  after(s.state, "putLink", () => "link 1");
  after(s.state, "putLinks", ([links]) => `link ${(links as unknown[]).length}`);
  after(s.state, "putCursor", ([c]) => `cursor ${(c as { mapping: string; side: string }).mapping} ${(c as { side: string }).side}`);
  after(s.state, "createRun", (_, r) => `created ${(r as RunRecord).mapping} ${(r as RunRecord).runId}`);
  after(s.state, "updateRun", (_, r) => `run ${(r as RunRecord).mapping} ${(r as RunRecord).status} planned=${(r as RunRecord).planned} processed=${(r as RunRecord).processed}`);
  return engineQueues(s).map(({ queue, handler }) => ({
    queue,
    handler: async (body, meta) => {
      say(`handle ${nameOf(queue)} dequeue=${meta.dequeueCount}`);
      await handler(body, meta);
      say(`handled ${nameOf(queue)}`);
    },
  }));
}

/** Write ops in a queue message, compressed ones included (0 for run and event messages). */
function opsIn(body: unknown): number {
  const b = body as WriteMessage;
  return Array.isArray(b?.ops) || b?.opsGz ? writeOpsOf(b).length : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`crash child failed: ${errorMessage(e)}\n${e instanceof Error ? e.stack : ""}\n`);
    process.exit(CrashChildExit.failed);
  },
);
