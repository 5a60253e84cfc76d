import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../../shared/runtime/services.js";
import { runCycle } from "../../../shared/runtime/syncCycle.js";
import { tenantsOf } from "../../../shared/tenants/tenants.js";
import { registerTenants, startTenantStack, type TenantStack } from "./tenantStack.js";

/**
 * The bound: a tenant under a 429 storm costs another tenant NO throttling. The calm tenant's
 * client gets no 429, sleeps 0 ms before retries, and sends the same requests as when it runs
 * alone; only the storming tenant waits out its Retry-Afters (its own budget, limiter and token).
 */
describe("a 429 storm on one tenant does not slow another", () => {
  let stack: TenantStack;
  let storm: Services, calm: Services, calmAlone: Services;

  beforeAll(async () => {
    stack = await startTenantStack({ tenants: ["storm", "calm", "solo"] });
    await registerTenants(stack);
    [storm, calm, calmAlone] = await Promise.all(["storm", "calm", "solo"].map((id) => tenantsOf(stack.base).services(id)));
  }, 60_000);
  afterAll(async () => stack?.stop());

  it("the calm tenant sees no 429, no retry wait, and the requests it sends alone", async () => {
    // The baseline: the same data and mapping synced by a tenant with nobody storming.
    const alone = await runCycle(calmAlone, { full: false, dryRun: false });
    expect(alone.summary.status).toBe("succeeded");

    stack.tenants.storm.dataverse.faults.add({ status: 429, code: "-2147015902", message: "Number of requests exceeded the limit of 6000 over time window of 300 seconds.", retryAfterSeconds: 1, count: 3 });
    const [stormed, calmRun] = await Promise.all([
      runCycle(storm, { full: false, dryRun: false }),
      runCycle(calm, { full: false, dryRun: false }),
    ]);

    expect(stormed.summary.status).toBe("succeeded");
    expect(storm.dataverse.stats().throttled).toBe(3);
    expect(storm.dataverse.stats().waitedMs).toBeGreaterThanOrEqual(1000);

    expect(calmRun.summary.status).toBe("succeeded");
    expect(calm.dataverse.stats()).toMatchObject({ throttled: 0, waitedMs: 0 });
    expect(stack.tenants.calm.dataverse.log.entries().filter((e) => e.status === 429)).toEqual([]);
    expect(calm.dataverse.stats().requests).toBe(calmAlone.dataverse.stats().requests);
    expect(calmRun.summary.totals).toEqual(alone.summary.totals);
  });
});
