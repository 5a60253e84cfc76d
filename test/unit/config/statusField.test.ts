import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { FieldMapping } from "../../../shared/config/mapping.js";
import { config, mapping, problemsOf } from "./factories.js";

const keyField = { app: "id", dataverse: "ordernumber", type: "string", direction: "to-dataverse" } as const;
const pairs = { draft: { state: 0, status: 1 }, fulfilled: { state: 3, status: 100001 } };

function orders(...extra: Array<Partial<FieldMapping> & Record<string, unknown>>) {
  return config(mapping({
    name: "orders", app: { entity: "purchaseOrder" },
    dataverse: { entitySet: "salesorders", table: "salesorder", key: ["ordernumber"] },
    fields: [keyField, ...extra] as FieldMapping[],
  }));
}

describe("type status in the mapping file", () => {
  it("accepts a map of app values to statecode/statuscode pairs on the statuscode column", () => {
    const parsed = parseSyncConfig(orders({ app: "status", dataverse: "statuscode", type: "status", statuses: pairs }));
    expect(parsed.mappings[0].fields[1]).toMatchObject({ type: "status", statuses: pairs });
  });

  it("requires the statuses, each pair an object of two whole numbers", () => {
    expect(problemsOf(() => parseSyncConfig(orders({ app: "status", dataverse: "statuscode", type: "status" })))).toEqual([
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.statuses: required for type status: an object of app value -> \{"state": statecode, "status": statuscode\}/),
    ]);
    expect(problemsOf(() => parseSyncConfig(orders({ app: "status", dataverse: "statuscode", type: "status", statuses: { draft: [0, 1] as never } })))).toEqual([
      "mappings[0].fields[1].statuses.draft: expected object; got an array of 2",
    ]);
    expect(problemsOf(() => parseSyncConfig(orders({ app: "status", dataverse: "statuscode", type: "status", statuses: { draft: { state: 0, status: 1.5 } } })))).toEqual([
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.statuses\.draft\.status: /),
    ]);
  });

  it("refuses a status reason used by two app values, and statuses on another type", () => {
    expect(problemsOf(() => parseSyncConfig(orders({ app: "status", dataverse: "statuscode", type: "status", statuses: { ...pairs, done: { state: 3, status: 100001 } } })))).toEqual([
      'mappings[0].fields[1].statuses.done: status 100001 is already used by "fulfilled"; each status maps back to one app value',
    ]);
    expect(problemsOf(() => parseSyncConfig(orders({ app: "status", dataverse: "hlf_status", type: "choice", choices: { a: 1 }, statuses: pairs })))).toEqual([
      "mappings[0].fields[1].statuses: only for type status; got type choice",
    ]);
  });

  it("names the statuscode column, and refuses statecode written by another field", () => {
    expect(problemsOf(() => parseSyncConfig(orders({ app: "status", dataverse: "statecode", type: "status", statuses: pairs })))).toEqual([
      'mappings[0].fields[1].dataverse: expected "statuscode" for type status (the status reason column; statecode is written with it); got "statecode"',
    ]);
    expect(problemsOf(() => parseSyncConfig(orders(
      { app: "status", dataverse: "statuscode", type: "status", statuses: pairs },
      { app: "state", dataverse: "statecode", type: "number" },
    )))).toEqual([
      'mappings[0].fields[2].dataverse: "statecode" is already written by mappings[0].fields[1]; a column can be written by one field only',
    ]);
  });
});

describe("type status with deletes deactivate", () => {
  it("warns that rows beginning in Dataverse in a state past Inactive are taken for deactivated ones", () => {
    const warnings: string[] = [];
    const withDeactivate = config(mapping({
      name: "orders", app: { entity: "purchaseOrder", inactiveField: { field: "active", value: false } }, deletes: "deactivate",
      dataverse: { entitySet: "salesorders", table: "salesorder", key: ["ordernumber"] },
      fields: [keyField, { app: "status", dataverse: "statuscode", type: "status", statuses: pairs }] as FieldMapping[],
    }));
    parseSyncConfig(withDeactivate, "test", { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.statuses: with deletes "deactivate", a row that begins in Dataverse in a state other than 0 .* also in state 3$/)]);
  });
});
