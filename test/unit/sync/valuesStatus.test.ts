import { describe, expect, it } from "vitest";
import type { LookupResolver } from "../../../shared/sync/lookups.js";
import { appToCanonical, canonicalToApp, canonicalToDataverseColumns, dataverseToCanonical } from "../../../shared/sync/values.js";
import { compiledMapping, field, thrown } from "./valuesFactories.js";

const statuses = { draft: { state: 0, status: 1 }, submitted: { state: 1, status: 3 }, fulfilled: { state: 3, status: 100001 } };
const status = field({ app: "status", dataverse: "statuscode", type: "status", statuses });

describe("status values (a statecode/statuscode pair as one app value)", () => {
  it("writes the pair's statecode with its statuscode, and reads the app value back from the statuscode", () => {
    const canonical = appToCanonical(status, "fulfilled");

    expect(canonical).toBe("fulfilled");
    expect(canonicalToDataverseColumns(status, canonical)).toEqual({ statecode: 3, statuscode: 100001 });
    expect(dataverseToCanonical(status, 100001)).toBe("fulfilled");
    expect(canonicalToApp(status, "fulfilled")).toBe("fulfilled");
  });

  it("fails an app value outside the map, and a status reason outside it, naming the allowed ones", () => {
    const fromApp = thrown(() => appToCanonical(status, "shipped"));
    expect(fromApp.code).toBe("UNMAPPABLE_VALUE");
    expect(fromApp.message).toMatch(/app field "status" .*"shipped".*not one of the statuses "draft", "submitted", "fulfilled"/);
    const fromDataverse = thrown(() => dataverseToCanonical(status, 100002));
    expect(fromDataverse.code).toBe("UNMAPPABLE_VALUE");
    expect(fromDataverse.message).toMatch(/Dataverse column "statuscode" .*100002.*not one of the status reasons 1, 3, 100001/);
  });

  it("never writes an empty status to Dataverse, and says to give a default", () => {
    const error = thrown(() => canonicalToDataverseColumns(status, null));
    expect(error.code).toBe("UNMAPPABLE_VALUE");
    expect(error.message).toMatch(/a Dataverse row always has a status .*give the field a "default"/);
    // A default stands for the missing value, as for every type.
    expect(canonicalToDataverseColumns(status, appToCanonical({ ...status, default: "draft" }, null))).toEqual({ statecode: 0, statuscode: 1 });
  });

  it("puts both columns into the body of a create or an update, next to the other fields", async () => {
    const mapping = compiledMapping({
      name: "orders", entity: "purchaseOrder", entitySet: "salesorders", table: "salesorder", key: "ordernumber",
      fields: [{ app: "title", dataverse: "name", type: "string" }, { app: "status", dataverse: "statuscode", type: "status", statuses }],
    });
    const noLookups = {} as LookupResolver;

    expect(await mapping.toDataverseBody({ id: "po-1", title: "Pumps", status: "submitted" }, noLookups))
      .toEqual({ ordernumber: "po-1", name: "Pumps", statecode: 1, statuscode: 3 });
    expect(await mapping.toDataverseBody({ title: "Valves" }, noLookups)).toEqual({ name: "Valves" });
    expect(mapping.select).toEqual(expect.arrayContaining(["statecode", "statuscode"]));
  });
});
