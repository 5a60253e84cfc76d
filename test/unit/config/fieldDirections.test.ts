import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { FieldMapping } from "../../../shared/config/mapping.js";
import { config, mapping, problemsOf } from "./factories.js";

const keyField = { app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" } as const;

function contacts(direction: "both" | "to-dataverse" | "to-app", ...extra: Array<Partial<FieldMapping> & Record<string, unknown>>) {
  return config(mapping({ direction, fields: [keyField, ...extra] as FieldMapping[] }));
}

describe("field directions that can never sync", () => {
  it("refuses a field that reverses its one-way mapping, naming the field and the fix", () => {
    expect(problemsOf(() => parseSyncConfig(contacts("to-dataverse", { app: "nickname", dataverse: "nickname", type: "string", direction: "to-app" })))).toEqual([
      'mappings[0].fields[1].direction: "to-app" can never sync in a mapping whose direction is "to-dataverse" (a field may narrow its mapping\'s direction, not reverse it); ' +
        'give the mapping "direction": "both" and its other fields "direction": "to-dataverse" (only columns Dataverse fills in, such as the primary id, createdon or modifiedon, may be "to-app" here)',
    ]);
    expect(problemsOf(() => parseSyncConfig(contacts("to-app", { app: "firstName", dataverse: "firstname", type: "string", direction: "to-dataverse" })))).toEqual([
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.direction: "to-dataverse" can never sync in a mapping whose direction is "to-app"/),
    ]);
  });

  it("accepts the values Dataverse fills in as to-app fields of a to-dataverse mapping (the Kentico case keeps the contact id)", () => {
    expect(() => parseSyncConfig(contacts("to-dataverse",
      { app: "firstName", dataverse: "firstname", type: "string" },
      { app: "dynamicsId", dataverse: "contactid", type: "string", direction: "to-app" },
      { app: "createdOn", dataverse: "createdon", type: "datetime", direction: "to-app" },
    ))).not.toThrow();
  });

  it("accepts the app id going to the key in a to-app mapping (the key write-back), and one-way fields in a two-way mapping", () => {
    expect(() => parseSyncConfig(contacts("to-app", { app: "firstName", dataverse: "firstname", type: "string" }))).not.toThrow();
    expect(() => parseSyncConfig(contacts("both",
      { app: "firstName", dataverse: "firstname", type: "string", direction: "to-dataverse" },
      { app: "dynamicsId", dataverse: "contactid", type: "string", direction: "to-app" },
      { app: "lastSyncedAt", dataverse: "modifiedon", type: "datetime", direction: "to-app" },
    ))).not.toThrow();
  });

  it("refuses writing the app record id, which the app assigns", () => {
    expect(problemsOf(() => parseSyncConfig(config(mapping({ fields: [{ ...keyField, direction: "to-app" }] }))))).toEqual([
      'mappings[0].fields[0].direction: "to-app" can never sync the app record id (the app assigns it, and it is not inside data); use "to-dataverse"',
    ]);
  });

  it("refuses any direction but to-app on a column Dataverse fills in, the primary id included", () => {
    const problems = problemsOf(() => parseSyncConfig(contacts("both",
      { app: "dynamicsId", dataverse: "contactid", type: "string" },
      { app: "createdOn", dataverse: "createdon", type: "datetime", direction: "to-dataverse" },
      { app: "lastSyncedAt", dataverse: "modifiedon", type: "datetime" },
    )));
    expect(problems).toEqual([
      'mappings[0].fields[1].direction: Dataverse fills in "contactid" itself, so "both" can never sync it to Dataverse; use "direction": "to-app"',
      'mappings[0].fields[2].direction: Dataverse fills in "createdon" itself, so "to-dataverse" can never sync it to Dataverse; use "direction": "to-app"',
      'mappings[0].fields[3].direction: Dataverse fills in "modifiedon" itself, so "both" can never sync it to Dataverse; use "direction": "to-app"',
    ]);
  });
});
