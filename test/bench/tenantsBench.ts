/**
 * `npm run bench -- --tenants 3 --records N`: N mentors per tenant, every tenant's first full load
 * in ONE process at the same time (one deployment, one storage account, one token endpoint for
 * one multi-tenant app), each against its own Dataverse emulator with service protection on.
 * Reports each tenant's records/s as a share of its environment's ceiling (the limits are per
 * environment and application user, so each tenant has a ceiling of its own) and the spread
 * between tenants: (slowest - fastest) / mean of their rates.
 */
import type { Logger } from "../../shared/ports.js";
import { runCycle } from "../../shared/runtime/syncCycle.js";
import { tenantsOf } from "../../shared/tenants/tenants.js";
import type { ThrottleOptionsInput } from "../emulators/dataverse/throttle.js";
import { registerTenants, startTenantStack } from "../integration/tenants/tenantStack.js";
import { GROUPS, groupId, mentorRecord } from "./benchData.js";
import { ceilingFor } from "./ceiling.js";

export interface TenantFigures {
  tenant: string;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  ceiling: number;
  shareOfCeiling: number;
  throttled: number;
  written: number;
  failed: number;
}

export interface TenantsBenchFigures {
  tenants: TenantFigures[];
  /** (fastest - slowest) / mean records/s. */
  spread: number;
  wallSeconds: number;
}

const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export async function runTenantsBench(count: number, records: number, storage: string, limits: ThrottleOptionsInput, bulkSize: number, log: (line: string) => void): Promise<TenantsBenchFigures> {
  if (!Number.isInteger(count) || count < 1 || count > 5) throw new Error("--tenants: 1 to 5");
  if (records * count > 100_000) throw new Error("--tenants × --records: at most 100,000 records in all");
  const ids = Array.from({ length: count }, (_, i) => `bench${i + 1}`);
  const seed = () => ({
    group: Array.from({ length: GROUPS }, (_, g) => ({ id: groupId(g), data: { name: `Group ${g}`, region: "Bench" } })),
    mentor: Array.from({ length: records }, (_, i) => mentorRecord(i)),
  });
  const stack = await startTenantStack({ tenants: ids, storage, seed, throttle: limits, lightLogs: true, logger: silent });
  try {
    await registerTenants(stack);
    const services = await Promise.all(ids.map((id) => tenantsOf(stack.base).services(id)));
    const ceiling = ceilingFor(limits, bulkSize, records).forRun;
    log(`multi-tenant benchmark: ${count} tenants × ${records} mentors, at the same time; ceiling per environment ${ceiling.toFixed(1)} records/s`);
    const started = performance.now();
    const results = await Promise.all(services.map(async (s, i) => {
      const t0 = performance.now();
      const { summary } = await runCycle(s, { full: false, dryRun: false });
      const seconds = (performance.now() - t0) / 1000;
      const rate = records / seconds;
      const figures: TenantFigures = {
        tenant: ids[i], records, seconds, recordsPerSecond: rate, ceiling, shareOfCeiling: rate / ceiling,
        throttled: s.dataverse.stats().throttled, written: summary.totals.written, failed: summary.totals.failed,
      };
      return figures;
    }));
    const wallSeconds = (performance.now() - started) / 1000;
    const rates = results.map((r) => r.recordsPerSecond);
    const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
    const spread = (Math.max(...rates) - Math.min(...rates)) / mean;
    for (const r of results) {
      log(`  ${r.tenant}: ${r.records} in ${r.seconds.toFixed(1)} s = ${r.recordsPerSecond.toFixed(1)} records/s, ${(r.shareOfCeiling * 100).toFixed(1)} % of its ceiling; written ${r.written}, failed ${r.failed}, ${r.throttled} × 429`);
    }
    log(`  spread between tenants: ${(spread * 100).toFixed(1)} % of the mean rate; wall ${wallSeconds.toFixed(1)} s`);
    return { tenants: results, spread, wallSeconds };
  } finally {
    await stack.stop();
  }
}
