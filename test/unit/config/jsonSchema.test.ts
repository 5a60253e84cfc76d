import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
});
