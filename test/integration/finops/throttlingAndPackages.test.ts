import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import type { Clock } from "../../../shared/ports.js";
import { EXPORT_ID, customerGroups, salesOrderRows, salesOrders, seedCustomerGroups, startFinopsStack, type FinopsStack } from "./finopsFixtures.js";

/** The product's clock, with every wait it is asked for recorded (the shared clock moves on by it). */
function recordSleeps(s: FinopsStack): number[] {
  const sleeps: number[] = [];
  const clock = s.services.clock as Clock;
  const sleep = clock.sleep.bind(clock);
  clock.sleep = (ms: number, signal?: AbortSignal) => {
    sleeps.push(ms);
    return sleep(ms, signal);
  };
  return sleeps;
}

describe("F&O throttling (429 with an integer Retry-After)", () => {
  let s: FinopsStack;
  afterEach(async () => s?.stop());

  it("waits at least Retry-After through the product's clock, then carries on", async () => {
    // Prepare
    s = await startFinopsStack([salesOrders]);
    const sleeps = recordSleeps(s);
    s.fo.seedExport(EXPORT_ID, salesOrderRows(3));
    s.fo.throttle({ requests: 3, retryAfterS: 7 });
    // Act
    const run = await s.run("sales-orders");
    // Assess
    expect(run.status).toBe("succeeded");
    expect(run.toApp.created).toBe(3);
    const throttled = s.fo.requestLog().filter((r) => r.status === 429);
    expect(throttled).toHaveLength(3);
    expect(sleeps.filter((ms) => ms >= 7_000)).toHaveLength(3);
    expect(sleeps.every((ms) => ms > 0)).toBe(true); // never a spin
  });

  it("gives up after its bounded attempts in a storm: the run fails as THROTTLED and the records stay to send", async () => {
    // Prepare
    s = await startFinopsStack([customerGroups]);
    const sleeps = recordSleeps(s);
    seedCustomerGroups(s, 4);
    s.fo.throttle({ requests: 1_000, retryAfterS: 2 });
    // Act
    const stormy = await s.run("customer-groups");
    const calls = s.fo.requestLog().length;
    const waits = [...sleeps];
    s.fo.clearThrottle();
    const after = await s.run("customer-groups");
    // Assess
    expect(stormy.status).toBe("failed");
    expect(stormy.errorCode).toBe(ErrorCodes.Throttled);
    expect(stormy.error).toMatch(/throttled/i);
    expect(calls).toBeLessThanOrEqual(5);
    expect(waits.length).toBe(calls - 1);
    expect(waits.every((ms) => ms >= 2_000)).toBe(true);
    expect(after.status).toBe("succeeded");
    expect(s.fo.importedRows("Customer groups")).toHaveLength(4);
  });
});

describe("the package API", () => {
  let s: FinopsStack;
  afterEach(async () => s?.stop());

  it("imports a data package: write URL, blob PUT with its SAS, ImportFromPackage, then the summary status", async () => {
    // Prepare
    s = await startFinopsStack([{ ...customerGroups, api: "package", format: "package", activityId: undefined, dataProject: "CG-Import" }]);
    s.fo.defineProject({ name: "CG-Import", entity: "Customer groups", keyFields: ["CUSTOMERGROUPID"] });
    seedCustomerGroups(s, 10);
    s.fo.failRecords("Customer groups", (row) => (row.CUSTOMERGROUPID === "G4" ? "Group G4 already exists in another legal entity." : undefined));
    // Act
    const run = await s.run("customer-groups");
    // Assess
    expect(run.error).toBeUndefined();
    expect(run.toDataverse).toMatchObject({ created: 9, failed: 1 });
    expect(s.fo.importedRows("Customer groups").map((r) => r.CUSTOMERGROUPID).sort()).toEqual(["G1", "G10", "G2", "G3", "G5", "G6", "G7", "G8", "G9"]);
    const paths = s.fo.requestLog().map((r) => `${r.method} ${r.path.replace(/\?.*/, "")}`);
    expect(paths.some((p) => p.endsWith("GetAzureWriteUrl"))).toBe(true);
    expect(paths.some((p) => p.startsWith("PUT "))).toBe(true);
    expect(paths.some((p) => p.endsWith("ImportFromPackage"))).toBe(true);
    expect(paths.some((p) => p.endsWith("GenerateImportTargetErrorKeysFile"))).toBe(true);
    const [pending] = await s.services.state.listDeadLetters({ mapping: s.names["customer-groups"] });
    expect(pending).toMatchObject({ appId: "cg-4", code: ErrorCodes.FinopsRecordRejected });
    expect(pending.message).toContain("Group G4 already exists in another legal entity.");
  });

  it("exports through ExportToPackage and GetExportedPackageUrl and writes the rows to the app", async () => {
    // Prepare
    s = await startFinopsStack([{ ...salesOrders, api: "package", activityId: undefined, dataProject: "SO-Export" }]);
    s.fo.defineProject({ name: "SO-Export", entity: "Sales order headers V2", rows: salesOrderRows(25) });
    // Act
    const run = await s.run("sales-orders");
    // Assess
    expect(run.error).toBeUndefined();
    expect(run.toApp.created).toBe(25);
    expect(s.stack.app.list("salesOrder")).toHaveLength(25);
  });
});
