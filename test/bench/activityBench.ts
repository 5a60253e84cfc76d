/**
 * `npm run bench -- --activities N`: N app activities (phone calls and e-mails that are closed,
 * tasks, appointments with attendees) of a few hundred mentors in one run, against the emulator.
 * Reports the Dataverse requests per activity: user look-ups, existence reads, bulk calls and their
 * `$batch` fallbacks, closes. `$batch` parts are not requests of their own.
 */
import { parseSyncConfig } from "../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import { loadSettings } from "../../shared/config/settings.js";
import { startEmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { createServices } from "../../shared/runtime/services.js";
import { runCycle } from "../../shared/runtime/syncCycle.js";
import { defaultRegistry } from "../../shared/sync/registry.js";
import { activityMapping } from "../integration/activities/activityFixtures.js";
import { mentorId, mentorRecord } from "./benchData.js";

export interface ActivityFigures {
  activities: number;
  mentors: number;
  seconds: number;
  requests: number;
  requestsPerActivity: number;
  byKind: Record<string, number>;
  created: number;
  closed: number;
  failed: number;
}

const MENTORS = 200;
const USERS = 20;
const TYPES = ["phonecall", "email", "task", "appointment"] as const;

export async function runActivityBench(count: number, storage: string, log: (line: string) => void): Promise<ActivityFigures> {
  if (count > 100_000) throw new Error("--activities: at most 100,000");
  const stack = await startEmulatorStack({ storageConnectionString: storage, seed: false, dataverse: { log: { bodies: false } } });
  try {
    const base = (await import("../support/syncHarness.js")).demoConfig();
    const config = parseSyncConfig({ ...base, mappings: [...base.mappings, activityMapping()] } as SyncConfigInput, "activity bench", { registry: defaultRegistry.names() });
    const services = await createServices({ settings: loadSettings(stack.env), config, queues: "memory", tablePrefix: `actbench${Date.now()}`, registry: defaultRegistry, logger: silent });
    for (let i = 0; i < USERS; i++) stack.dataverse.insert("systemuser", { fullname: `Marketer ${i}`, internalemailaddress: `marketer${i}@contoso.example` });
    for (let i = 0; i < MENTORS; i++) {
      const m = mentorRecord(i);
      stack.app.put("mentor", m.id, { ...m.data, groupId: null });
    }
    await runCycle(services, { full: false, dryRun: false, mapping: "mentors" });
    for (let i = 0; i < count; i++) stack.app.put("activity", `act-${i}`, activityData(i));
    log(`activity benchmark: ${count} activities of ${MENTORS} mentors`);

    const since = stack.dataverse.log.entries().length;
    const started = performance.now();
    const { summary } = await runCycle(services, { full: false, dryRun: false, mapping: "activities" });
    const seconds = (performance.now() - started) / 1000;
    const calls = stack.dataverse.log.entries().slice(since).filter((e) => !e.inBatch);
    const byKind: Record<string, number> = {};
    for (const e of calls) {
      const kind = `${e.method} ${e.path.replace(/^\/api\/data\/v9\.\d\//, "").replace(/\?.*$/, "").replace(/\(.*\)$/, "(id)")} ${e.status}`;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
    }
    const counts = summary.mappings[0]?.toDataverse ?? { created: 0, updated: 0, failed: 0 };
    const figures: ActivityFigures = {
      activities: count, mentors: MENTORS, seconds, requests: calls.length, requestsPerActivity: calls.length / Math.max(count, 1), byKind,
      created: counts.created, closed: counts.updated, failed: counts.failed,
    };
    log(`  ${counts.created} created, ${counts.updated} closed, ${counts.failed} failed in ${seconds.toFixed(1)} s`);
    log(`  ${calls.length} Dataverse requests: ${figures.requestsPerActivity.toFixed(4)} per activity`);
    for (const [kind, n] of Object.entries(byKind).sort((a, b) => b[1] - a[1])) log(`    ${String(n).padStart(6)}  ${kind}`);
    return figures;
  } finally {
    await stack.stop();
  }
}

function activityData(i: number): Record<string, unknown> {
  const type = TYPES[i % TYPES.length];
  const data: Record<string, unknown> = { type, mentorId: mentorId(i % MENTORS), subject: `${type} ${i}` };
  if (type === "phonecall") Object.assign(data, { phoneNumber: "+47 400 00 000", loggedBy: `marketer${i % USERS}@contoso.example` });
  if (type === "email") Object.assign(data, { body: `<p>message ${i}</p>`, loggedBy: i % 10 === 0 ? `outside${i}@elsewhere.example` : `marketer${i % USERS}@contoso.example` });
  if (type === "task") data.due = "2027-01-15T09:00:00Z";
  if (type === "appointment") Object.assign(data, { location: "Oslo", attendees: [`marketer${i % USERS}@contoso.example`, `marketer${(i + 1) % USERS}@contoso.example`] });
  return data;
}

const noop = () => undefined;
const silent = { debug: noop, info: noop, warn: noop, error: noop };
