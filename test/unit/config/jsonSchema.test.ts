import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import { buildJsonSchema, JSON_SCHEMA_FILE, jsonSchemaText } from "../../../shared/config/writeJsonSchema.js";
import { repoRoot } from "./factories.js";

describe("sync.config.schema.json", () => {
  it("matches the schema generated from the zod definition (run `npm run schema` after changing mapping.ts)", () => {
    // Prepare
    const committed = readFileSync(join(repoRoot, JSON_SCHEMA_FILE), "utf8");
    // Act
    const generated = jsonSchemaText();
    // Assess
    expect(committed).toBe(generated);
  });

  it("describes the input form: keys with defaults are optional and unknown keys are refused", () => {
    const schema = buildJsonSchema() as {
      title: string; required: string[]; additionalProperties: boolean;
      properties: { mappings: { items: { anyOf: { required: string[]; properties: Record<string, { description?: string }> }[] } } };
    };
    expect(schema.title).toBe("d365-sync mapping file");
    expect(schema.required).toEqual(["mappings"]);
    expect(schema.additionalProperties).toBe(false);
    // A mapping is a record mapping, or an activity mapping ("kind": "activity").
    const [record, activity] = schema.properties.mappings.items.anyOf;
    expect(record.required).toEqual(["name", "app", "dataverse", "fields"]);
    expect(record.properties.deletes!.description).toMatch(/propagate/);
    expect(activity.required).toEqual(["name", "kind", "app", "regarding", "types"]);
  });

  it("lets `mappings` be empty only when `finops` has jobs, as the loader does", () => {
    // Prepare: the committed schema, in a JSON Schema 2020-12 validator as editors use one
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(join(repoRoot, JSON_SCHEMA_FILE), "utf8")) as object);
    const job = {
      name: "groups-to-fo", direction: "to-finops", activityId: "6D31E09F-0249-459F-94F0-AAD9C2C47B64", entity: "Vendor groups",
      app: { entity: "group" }, fields: [{ app: "id", finops: "VENDORGROUPID" }],
    };
    // Act
    const finopsOnly = validate({ mappings: [], finops: [job] });
    const finopsOnlyErrors = validate.errors;
    const nothing = validate({ mappings: [] });
    const noJobs = validate({ mappings: [], finops: [] });
    const demo = validate(JSON.parse(readFileSync(join(repoRoot, "sync.config.json"), "utf8")));
    // Assess
    expect(finopsOnlyErrors).toBeNull();
    expect(finopsOnly).toBe(true);
    expect(nothing).toBe(false);
    expect(noJobs).toBe(false);
    expect(demo).toBe(true);
  });
});
