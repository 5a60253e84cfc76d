import { fileURLToPath } from "node:url";
import { isConfigError } from "../../../shared/config/configError.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** A complete, valid environment; tests override or delete single settings. */
export function validEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    DYNAMICS_INSTANCE_URL: "https://org.crm4.dynamics.com",
    DYNAMICS_TENANT_ID: "8f1b0a3e-5c2d-4e6f-9a7b-1c2d3e4f5a6b",
    DYNAMICS_CLIENT_ID: "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
    DYNAMICS_CLIENT_SECRET: "client-secret-value-xyz",
    AzureWebJobsStorage: "UseDevelopmentStorage=true",
    APP_BASE_URL: "https://app.example.com/api",
    APP_API_KEY: "app-api-key-value",
    ADMIN_API_KEY: "admin-api-key-0123456789",
    ...overrides,
  };
}

/** Runs `act`, expecting a ConfigError, and returns its problem list. */
export function problemsOf(act: () => unknown): string[] {
  try {
    act();
  } catch (e) {
    if (isConfigError(e)) return [...e.problems];
    throw e;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}

export async function asyncProblemsOf(act: () => Promise<unknown>): Promise<string[]> {
  try {
    await act();
  } catch (e) {
    if (isConfigError(e)) return [...e.problems];
    throw e;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}

type MappingInput = SyncConfigInput["mappings"][number];

/** A small valid mapping; `patch` replaces top-level keys. */
export function mapping(patch: Partial<MappingInput> & Record<string, unknown> = {}): MappingInput {
  return {
    name: "mentors",
    app: { entity: "mentor" },
    dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid"] },
    fields: [
      { app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" },
      { app: "firstName", dataverse: "firstname", type: "string" },
    ],
    ...patch,
  } as MappingInput;
}

export function config(...mappings: MappingInput[]): SyncConfigInput {
  return { mappings: mappings.length ? mappings : [mapping()] };
}
