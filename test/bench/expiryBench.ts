/**
 * `npm run bench -- --expiry N`: N mentors, 1 % of them certified until a date that then passes.
 * After the load, a plain delta run (nothing changed) and the run after the date has passed (the
 * expiry rule applies) are measured side by side: seconds, and the Dataverse and app requests each
 * sent. The expiry run should cost the plain run plus about one read per 50 expiring rows and their
 * writes, whatever N is: the index is read, not the table.
 */
import { parseSyncConfig } from "../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import { loadSettings } from "../../shared/config/settings.js";
import { startEmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { createServices } from "../../shared/runtime/services.js";
import { runCycle } from "../../shared/runtime/syncCycle.js";
import { defaultRegistry } from "../../shared/sync/registry.js";
import { offsetClock } from "../support/offsetClock.js";
import { mentorRecord } from "./benchData.js";

export interface RunFigures {
  seconds: number;
  dataverseRequests: number;
  dataverseReads: number;
  appRequests: number;
  written: number;
}

export interface ExpiryFigures {
  records: number;
  expiring: number;
  loadSeconds: number;
  plainDelta: RunFigures;
  expiryRun: RunFigures;
  expiredInApp: number;
}

const LOAD_DATE = "2027-01-01T06:00:00Z";
const PASSED_DATE = "2027-01-11T06:00:00Z";

export async function runExpiryBench(records: number, storage: string, log: (line: string) => void): Promise<ExpiryFigures> {
  const clock = offsetClock({ realSleep: true });
  clock.setDate(LOAD_DATE);
  const stack = await startEmulatorStack({ storageConnectionString: storage, seed: false, dataverse: { log: { bodies: false } } });
  try {
    const base = (await import("../support/syncHarness.js")).demoConfig() as unknown as { mappings: { name: string; fields: { app: string; expires?: unknown }[] }[] };
    const mentors = base.mappings.find((m) => m.name === "mentors")!;
    mentors.fields.find((f) => f.app === "certificationStatus")!.expires = { when: "certifiedUntil", becomes: "expired" };
    const config = parseSyncConfig(base as unknown as SyncConfigInput, "expiry bench", { registry: defaultRegistry.names() });
    const services = await createServices({ settings: loadSettings(stack.env), config, queues: "memory", tablePrefix: `expbench${Date.now()}`, registry: defaultRegistry, logger: silent, clock });
    let expiring = 0;
    for (let i = 0; i < records; i++) {
      const m = mentorRecord(i);
      const soon = i % 100 === 0;
      if (soon) expiring += 1;
      stack.app.put("mentor", m.id, { ...m.data, groupId: null, certificationStatus: "active", certifiedUntil: soon ? "2027-01-10" : "2028-06-30" });
    }
    log(`expiry benchmark: ${records} mentors, ${expiring} certified until 2027-01-10`);
    const loadStarted = performance.now();
    await runCycle(services, { full: false, dryRun: false, mapping: "mentors" });
    await runCycle(services, { full: false, dryRun: false, mapping: "mentors" });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    log(`  load (and the run that reads its echoes): ${loadSeconds.toFixed(1)} s`);

    const measure = async (label: string): Promise<RunFigures> => {
      const dvSince = stack.dataverse.log.entries().length;
      const appSince = stack.app.requests.length;
      const started = performance.now();
      const { summary } = await runCycle(services, { full: false, dryRun: false, mapping: "mentors" });
      const seconds = (performance.now() - started) / 1000;
      const calls = stack.dataverse.log.entries().slice(dvSince).filter((e) => !e.inBatch);
      const figures: RunFigures = {
        seconds, dataverseRequests: calls.length, dataverseReads: calls.filter((e) => e.method === "GET").length,
        appRequests: stack.app.requests.length - appSince, written: summary.totals.written,
      };
      log(`  ${label}: ${seconds.toFixed(2)} s, ${figures.dataverseRequests} Dataverse requests (${figures.dataverseReads} reads), ${figures.appRequests} app requests, ${figures.written} written`);
      return figures;
    };
    const plainDelta = await measure("plain delta run");
    clock.setDate(PASSED_DATE);
    const expiryRun = await measure("run after the date passed");
    let expiredInApp = 0;
    for (let i = 0; i < records; i += 100) if (stack.app.get("mentor", mentorRecord(i).id)?.data?.certificationStatus === "expired") expiredInApp += 1;
    log(`  ${expiredInApp} of ${expiring} expiring mentors expired in the app`);
    return { records, expiring, loadSeconds, plainDelta, expiryRun, expiredInApp };
  } finally {
    await stack.stop();
  }
}

const noop = () => undefined;
const silent = { debug: noop, info: noop, warn: noop, error: noop };
