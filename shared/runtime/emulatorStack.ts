import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { startSampleApp, type SampleApp, type SeedData } from "../../test/emulators/app/index.js";
import { loadSeedFiles, parseSeedOption } from "../../test/emulators/app/seedFiles.js";
import { DEMO_SCHEMA_PATH, loadSchema, startDataverseEmulator, type DataverseEmulator, type DataverseEmulatorOptions } from "../../test/emulators/dataverse/index.js";
import { addPersonUser, LocalPerson } from "../../test/emulators/dataverse/actAs.js";
import { schemaFromMapping, schemaGaps } from "../../test/emulators/dataverse/schemaFromMapping.js";
import type { SyncConfig } from "../config/mapping.js";
import { startTokenServer, type TokenServer } from "../../test/emulators/token/index.js";
import { startAzurite, type AzuriteHandle } from "../../test/support/azurite.js";
import { Settings } from "../names.js";
import type { FinopsEmulator } from "../../test/emulators/finops/index.js";
import { startStackFinops, type StackFinopsOptions } from "./finopsDemo.js";

export interface EmulatorStack {
  /** App settings that point the product at the emulators (secrets generated fresh per start). */
  env: Record<string, string>;
  dataverse: DataverseEmulator;
  app: SampleApp;
  token: TokenServer;
  azurite?: AzuriteHandle;
  /** The F&O emulator, when `finops` jobs were given (its URL is FINOPS_BASE_URL in `env`). */
  finops?: FinopsEmulator;
  /** A second Dataverse user, not the integration's: its edits are a person's, never echoes. */
  person: EmulatorPerson;
  stop(): Promise<void>;
}

/** Client credentials of the person's user at the local token endpoint, and its systemuserid. */
export interface EmulatorPerson {
  clientId: string;
  clientSecret: string;
  userId: string;
  fullName: string;
}

/** Names of the person's values in `.local/stack.env` (not settings of the product). */
export const PersonEnv = {
  clientId: "EMULATOR_PERSON_CLIENT_ID",
  clientSecret: "EMULATOR_PERSON_CLIENT_SECRET",
  userId: "EMULATOR_PERSON_USER_ID",
} as const;

export interface EmulatorStackOptions {
  /** Use this storage instead of starting Azurite. */
  storageConnectionString?: string;
  /** Demo data in the emulator and the sample app (default true). */
  seed?: boolean;
  schema?: object | string;
  configPath?: string;
  /** The app's records instead of the demo seed (the generic app of `npm start -- --config`). */
  appSeed?: SeedData;
  /** Serve only these app entities (a mapping file's); any entity when absent. */
  appEntities?: string[];
  dataverse?: Partial<Omit<DataverseEmulatorOptions, "auth" | "schema">>;
  /** More Entra tenants the token endpoint serves for the same app (`npm start -- --tenants N`). */
  tokenTenants?: string[];
  /** Start the F&O emulator for these jobs of the mapping file (finopsDemo.ts). */
  finops?: StackFinopsOptions;
}

const secret = () => randomBytes(24).toString("base64url");

/**
 * Azurite (in memory), the token endpoint, the Dataverse emulator and the sample app, wired
 * together: the emulator trusts the token endpoint's keys, and `env` holds the settings for them.
 */
export async function startEmulatorStack(options: EmulatorStackOptions = {}): Promise<EmulatorStack> {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const azurite = options.storageConnectionString ? undefined : await startAzurite();
    if (azurite) started.push(azurite);
    const tenantId = randomUUID();
    const clientId = randomUUID();
    const clientSecret = secret();
    const personClient = { clientId: randomUUID(), clientSecret: secret() };
    const token = await startTokenServer({ tenantId, tenants: options.tokenTenants, clients: [{ clientId, clientSecret }, personClient] });
    started.push(token);
    const dataverse = await startDataverseEmulator({
      ...options.dataverse,
      schema: options.schema ?? (options.seed === false ? withoutSeed(DEMO_SCHEMA_PATH) : DEMO_SCHEMA_PATH),
      auth: { jwks: () => token.jwks(), issuer: `${token.authorityHost}/${tenantId}/v2.0`, authorityHost: token.authorityHost, tenantId },
    });
    started.push(dataverse);
    const person: EmulatorPerson = { ...personClient, userId: addPersonUser(dataverse, personClient.clientId), fullName: LocalPerson.fullName };
    const appKey = secret();
    const app = await startSampleApp({ apiKey: appKey, seed: options.appSeed ?? options.seed ?? true, entities: options.appEntities });
    started.push(app);
    const finops = options.finops?.jobs.length ? await startStackFinops(options.finops, token, tenantId, clientId) : undefined;
    if (finops) started.push({ stop: () => finops.close() });
    const env: Record<string, string> = {
      [Settings.dynamicsInstanceUrl]: dataverse.origin,
      [Settings.dynamicsTenantId]: tenantId,
      [Settings.dynamicsClientId]: clientId,
      [Settings.dynamicsClientSecret]: clientSecret,
      [Settings.dynamicsAuthorityHost]: token.authorityHost,
      [Settings.storage]: options.storageConnectionString ?? azurite!.connectionString,
      [Settings.syncConfigPath]: options.configPath ?? resolve("sync.config.json"),
      [Settings.appBaseUrl]: app.baseUrl,
      [Settings.appApiKey]: appKey,
      [Settings.adminApiKey]: secret(),
      [Settings.dataverseWebhookKey]: secret(),
      [Settings.appWebhookSecret]: secret(),
      ...(finops ? { [Settings.finopsBaseUrl]: finops.url } : {}),
    };
    return {
      env, dataverse, app, token, azurite, person, finops,
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw e;
  }
}

/** The demo schema without the demo rows (system tables keep theirs). */
function withoutSeed(path: string): object {
  const schema = JSON.parse(readFileSync(path, "utf8")) as { tables: { logicalName: string; rows?: unknown[] }[] };
  const system = new Set(["businessunit", "systemuser", "team"]);
  for (const t of schema.tables) if (!system.has(t.logicalName)) t.rows = [];
  return schema;
}

/** What the emulators hold for a mapping file (`npm start -- --config … [--schema …] [--seed …]`). */
export interface EmulatorInputs {
  schema: object | string;
  /** The demo schema and seed (the mapping is the demo's, or fits inside it). */
  demo: boolean;
  appSeed?: SeedData;
  appEntities: string[];
  /** One line for the console: where the tables came from. */
  source: string;
}

/**
 * The emulator's tables come from `schemaPath` when given (it must hold every mapped table,
 * column and key), else from the demo schema when it already holds them all, else from the
 * mapping itself; the app's records from the seed files. Throws naming every problem.
 */
export function emulatorInputs(config: SyncConfig, options: { schemaPath?: string; seeds?: string[] } = {}): EmulatorInputs {
  const appEntities = [...new Set([...config.mappings, ...(config.activities ?? []), ...(config.finops ?? [])].map((m) => m.app.entity))];
  const seedFiles = (options.seeds ?? []).map(parseSeedOption);
  const appSeed = seedFiles.length ? loadSeedFiles(seedFiles, config) : undefined;
  if (options.schemaPath) {
    const path = resolve(options.schemaPath);
    const gaps = schemaGaps(loadSchema(path), config);
    if (gaps.length) throw new Error(`the schema ${options.schemaPath} does not fit the mapping file:\n${gaps.map((g) => `  - ${g}`).join("\n")}`);
    return { schema: path, demo: false, appSeed: appSeed ?? {}, appEntities, source: `schema file ${options.schemaPath}` };
  }
  if (schemaGaps(loadSchema(DEMO_SCHEMA_PATH), config).length === 0) {
    return { schema: DEMO_SCHEMA_PATH, demo: true, appSeed, appEntities, source: "the demo schema and its seed" };
  }
  return { schema: schemaFromMapping(config), demo: false, appSeed: appSeed ?? {}, appEntities, source: "tables made from the mapping file" };
}
