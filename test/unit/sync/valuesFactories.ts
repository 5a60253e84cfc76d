import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { FieldMapping, SyncConfigInput } from "../../../shared/config/mapping.js";
import { CompiledMapping } from "../../../shared/sync/compiledMapping.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";
import { SyncError } from "../../../shared/errors.js";

/** A field mapping for tests; the demo's mentor fields are the defaults. */
export function field(overrides: Partial<FieldMapping> & Pick<FieldMapping, "type">): FieldMapping {
  return { app: "value", dataverse: "hlf_value", ...overrides };
}

export const certificationStatus = field({
  app: "certificationStatus", dataverse: "hlf_certificationstatus", type: "choice",
  choices: { active: 100000000, expired: 100000001, pending: 100000002 },
});

/** Runs `act` and returns the SyncError it throws (fails the test when it does not throw one). */
export function thrown(act: () => unknown): SyncError {
  try {
    act();
  } catch (e) {
    if (e instanceof SyncError) return e;
    throw new Error(`expected a SyncError, got ${String(e)}`);
  }
  throw new Error("expected a SyncError, but nothing was thrown");
}

/** One mapping, compiled: the app id goes to the key column `key`, then `fields`. */
export function compiledMapping(m: { name: string; entity: string; entitySet: string; table: string; key: string; fields: FieldMapping[] }): CompiledMapping {
  const input = {
    mappings: [{
      name: m.name, app: { entity: m.entity }, dataverse: { entitySet: m.entitySet, table: m.table, key: [m.key] },
      fields: [{ app: "id", dataverse: m.key, type: "string", direction: "to-dataverse" }, ...m.fields],
    }],
  } as SyncConfigInput;
  return new CompiledMapping(parseSyncConfig(input, `${m.name} test mapping`).mappings[0], defaultRegistry);
}
