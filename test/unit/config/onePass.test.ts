import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateSyncConfig } from "../../../shared/config/loadConfig.js";
import { validateCommand } from "../../../shared/config/validateCommand.js";

const dir = mkdtempSync(join(tmpdir(), "d365-one-pass-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CMMS assets mapping with three mistakes in one mapping: one of shape, two of meaning. */
const threeMistakes = {
  mappings: [{
    name: "assets", app: { entity: "asset" },
    dataverse: { entitySet: "msdyn_customerassets", table: "msdyn_customerasset", key: ["msdyn_assetnumber", "msdyn_assetnumber"] },
    direction: "to-dataverse",
    fields: [
      { app: "number", dataverse: "msdyn_assetnumber", type: "string" },
      { app: "name", dataverse: "msdyn_name", type: "text" },
      { app: "notes", dataverse: "msdyn_description", type: "string", direction: "to-app" },
    ],
  }],
};

describe("validation in one pass", () => {
  it("lists a schema error and two semantic errors of the same mapping together, each with its path", async () => {
    const path = join(dir, "three.json");
    writeFileSync(path, JSON.stringify(threeMistakes));

    const result = await validateCommand({ config: path });

    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      `${path}: mappings[0].fields[1].type: expected one of string, number, decimal, money, boolean, date, datetime, choice, multichoice, lookup, owner, status; got "text"`,
      `${path}: mappings[0].dataverse.key[1]: "msdyn_assetnumber" is already key[0]; name each key column once`,
      expect.stringMatching(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: mappings\\[0\\]\\.fields\\[2\\]\\.direction: "to-app" can never sync in a mapping whose direction is "to-dataverse"`)),
    ]);
  });

  it("checks the well-formed parts of a mapping whose other parts are malformed, without false problems", () => {
    const result = validateSyncConfig({
      mappings: [{
        name: "assets", app: { entity: "asset", filter: "score >>> 1" },
        // The key column is mapped by a malformed field: still mapped, not reported as missing.
        dataverse: { entitySet: "msdyn_customerassets", table: "msdyn_customerasset", key: ["msdyn_assetnumber"] },
        deletes: "remove",
        fields: [
          { app: "number", dataverse: "msdyn_assetnumber", type: "strng" },
          { app: "kind", dataverse: "msdyn_kind", type: "choice" },
        ],
      }],
    });

    expect(result.config).toBeUndefined();
    expect(result.problems).toEqual([
      "mappings[0].deletes: expected one of propagate, deactivate, ignore; got \"remove\"",
      expect.stringMatching(/^mappings\[0\]\.fields\[0\]\.type: expected one of/),
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.choices: required for type choice/),
      expect.stringMatching(/^mappings\[0\]\.app\.filter: expected a filter expression/),
    ]);
  });

  it("skips only the checks that need a malformed part, instead of guessing", () => {
    const result = validateSyncConfig({
      mappings: [{
        name: "assets", app: { entity: "asset" },
        dataverse: { entitySet: "msdyn_customerassets", key: "msdyn_assetnumber" },
        fields: [
          { app: "number", dataverse: "msdyn_assetnumber", type: "string" },
          { app: "createdOn", dataverse: "createdon", type: "datetime" },
        ],
      }],
    });

    // No key problem (the key is malformed) and no guess at the primary id (the table is missing),
    // but the field checks still run.
    expect(result.problems).toEqual([
      "mappings[0].dataverse.table: required (string)",
      "mappings[0].dataverse.key: expected array; got \"msdyn_assetnumber\"",
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.direction: Dataverse fills in "createdon" itself/),
    ]);
  });
});
