import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { ActivityMapping } from "./activityMapping.js";
import { FinopsJobs } from "./finopsJob.js";
import { SyncConfig } from "./mapping.js";

/** Where the committed schema lives, next to sync.config.json (which points at it with "$schema"). */
export const JSON_SCHEMA_FILE = "sync.config.schema.json";

/**
 * The JSON Schema of the mapping file for editors, generated from the zod definition so the two
 * cannot drift. `io: "input"` because users write the input form: keys with defaults are optional.
 */
export function buildJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(SyncConfig, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  // A mapping is a record mapping or an activity mapping ("kind": "activity"; loadConfig.ts splits them).
  const mappings = (schema.properties as Record<string, { items: unknown }>).mappings;
  const { $schema: _activity$schema, ...activity } = z.toJSONSchema(ActivityMapping, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  mappings.items = { anyOf: [mappings.items, activity] };
  // The top-level `finops` array of Finance & Operations jobs (finopsJob.ts; loadConfig.ts checks it on its own).
  const { $schema: _finops$schema, ...finops } = z.toJSONSchema(FinopsJobs, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  (schema.properties as Record<string, unknown>).finops = finops;
  // `mappings` may be empty when `finops` has jobs (finopsConfig.ts SyncConfigWithoutMappings): one of the two must have entries.
  delete (mappings as { minItems?: number }).minItems;
  schema.anyOf = [
    { properties: { mappings: { minItems: 1 } } },
    { properties: { finops: { minItems: 1 } }, required: ["finops"] },
  ];
  const { $schema, ...rest } = schema;
  return { $schema, title: "d365-sync mapping file", ...rest };
}

/** The file's exact text: stable key order and a trailing newline, so the drift test can compare bytes. */
export function jsonSchemaText(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}

export async function writeJsonSchema(path = resolve(JSON_SCHEMA_FILE)): Promise<string> {
  await writeFile(path, jsonSchemaText(), "utf8");
  return path;
}

// `npm run schema`
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const path = await writeJsonSchema();
  console.log(`wrote ${path}`);
}
