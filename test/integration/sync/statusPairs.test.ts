import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import { DEMO_SCHEMA_PATH } from "../../emulators/dataverse/index.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { OTHER_USER, dataverseUpdates, editDataverse, mark, oneMappingConfig, writesSince } from "./syncFixtures.js";

/** Sales order states and status reasons as Dataverse ships them (SalesorderState). */
const ORDER_STATES = [
  { value: 0, label: "Active", defaultStatus: 1 }, { value: 1, label: "Submitted", defaultStatus: 3 },
  { value: 2, label: "Canceled", defaultStatus: 4 }, { value: 3, label: "Fulfilled", defaultStatus: 100001 },
];
const ORDER_STATUSES = [
  { value: 1, label: "New", state: 0 }, { value: 2, label: "Pending", state: 0 }, { value: 3, label: "In Progress", state: 1 },
  { value: 4, label: "No Money", state: 2 }, { value: 100001, label: "Complete", state: 3 }, { value: 100002, label: "Partial", state: 3 },
];

/** The demo schema's platform tables plus `salesorder` with its state/status pairs. */
function schemaWithOrders(): object {
  const schema = JSON.parse(readFileSync(DEMO_SCHEMA_PATH, "utf8")) as { tables: { logicalName: string; rows?: unknown[] }[] };
  schema.tables = schema.tables.filter((t) => ["businessunit", "systemuser", "team"].includes(t.logicalName));
  schema.tables.push({
    logicalName: "salesorder", entitySetName: "salesorders", primaryId: "salesorderid", primaryName: "name", changeTracking: true,
    columns: [
      { name: "name", type: "string", maxLength: 300 },
      { name: "ordernumber", type: "string", maxLength: 100 },
      { name: "statecode", type: "state", options: ORDER_STATES },
      { name: "statuscode", type: "status", options: ORDER_STATUSES },
    ],
    alternateKeys: [{ name: "ordernumber_key", columns: ["ordernumber"] }],
    rows: [],
  } as (typeof schema.tables)[number]);
  return schema;
}

const config = oneMappingConfig({
  name: "orders", entity: "purchaseOrder", entitySet: "salesorders", table: "salesorder", key: "ordernumber", strategy: "manual",
  fields: [
    { app: "title", dataverse: "name", type: "string" },
    { app: "status", dataverse: "statuscode", type: "status", statuses: {
      draft: { state: 0, status: 1 }, submitted: { state: 1, status: 3 }, canceled: { state: 2, status: 4 },
      fulfilled: { state: 3, status: 100001 }, partial: { state: 3, status: 100002 },
    } },
  ],
});

const orderRow = (h: SyncHarness, number: string) => h.stack.dataverse.rows("salesorder").find((r) => r.ordernumber === number);

describe("a status field (statecode and statuscode as one value)", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("creates a row in a state other than the default with both columns in one write", async () => {
    h = await startSyncHarness({ config, seed: false, schema: schemaWithOrders() });
    h.stack.app.put("purchaseOrder", "po-1", { title: "Pumps", status: "fulfilled" });

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(summary.totals.failed).toBe(0);
    expect(orderRow(h, "po-1")).toMatchObject({ statecode: 3, statuscode: 100001 });
  });

  it("writes a changed status as its pair, reads a status set in Dataverse back, and sends neither back", async () => {
    h = await startSyncHarness({ config, seed: false, schema: schemaWithOrders() });
    h.stack.app.put("purchaseOrder", "po-2", { title: "Valves", status: "draft" });
    await h.cycle();
    const id = String(orderRow(h, "po-2")!.salesorderid);

    // The app submits the order: Dataverse gets the pair, in one update.
    h.stack.app.put("purchaseOrder", "po-2", { title: "Valves", status: "submitted" });
    const at = mark(h);
    await h.cycle();
    expect(dataverseUpdates(h, "salesorders", "salesorderid", at.dv).get(id)).toEqual({ statecode: 1, statuscode: 3 });
    expect(orderRow(h, "po-2")).toMatchObject({ statecode: 1, statuscode: 3 });

    // A person cancels it in Dataverse: the app gets the app value of the pair.
    editDataverse(h, "salesorder", id, { statecode: 2, statuscode: 4 }, OTHER_USER);
    const summary = await h.cycle();
    expect(summary.mappings[0].toApp.updated).toBe(1);
    expect(h.stack.app.get("purchaseOrder", "po-2")?.data).toMatchObject({ status: "canceled" });

    // Settled: no conflict was parked, and nothing travels back either way.
    const again = mark(h);
    const settled = await h.cycle();
    expect(writesSince(h, again)).toEqual({ dataverse: [], app: [] });
    expect(settled.totals.conflicts).toBe(0);
  });

  it("fails a record whose status is not in the map, writing nothing, and syncs it once it is", async () => {
    h = await startSyncHarness({ config, seed: false, schema: schemaWithOrders() });
    h.stack.app.put("purchaseOrder", "po-3", { title: "Seals", status: "shipped" });

    const summary = await h.cycle();

    expect(summary.failures).toEqual([expect.objectContaining({ id: "po-3", code: ErrorCodes.Unmappable, message: expect.stringMatching(/"shipped".*not one of the statuses "draft", "submitted"/) })]);
    expect(orderRow(h, "po-3")).toBeUndefined();

    h.stack.app.put("purchaseOrder", "po-3", { title: "Seals", status: "partial" });
    await h.cycle();
    expect(orderRow(h, "po-3")).toMatchObject({ statecode: 3, statuscode: 100002 });
  });
});
