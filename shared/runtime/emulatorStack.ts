import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { startSampleApp, type SampleApp } from "../../test/emulators/app/index.js";
import { DEMO_SCHEMA_PATH, startDataverseEmulator, type DataverseEmulator, type DataverseEmulatorOptions } from "../../test/emulators/dataverse/index.js";
import { startTokenServer, type TokenServer } from "../../test/emulators/token/index.js";
import { startAzurite, type AzuriteHandle } from "../../test/support/azurite.js";
import { Settings } from "../names.js";

export interface EmulatorStack {
  /** App settings that point the product at the emulators (secrets generated fresh per start). */
  env: Record<string, string>;
  dataverse: DataverseEmulator;
  app: SampleApp;
  token: TokenServer;
  azurite?: AzuriteHandle;
  stop(): Promise<void>;
}

export interface EmulatorStackOptions {
  /** Use this storage instead of starting Azurite. */
  storageConnectionString?: string;
  /** Demo data in the emulator and the sample app (default true). */
  seed?: boolean;
  schema?: object | string;
  configPath?: string;
  dataverse?: Partial<Omit<DataverseEmulatorOptions, "auth" | "schema">>;
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
    const token = await startTokenServer({ tenantId, clients: [{ clientId, clientSecret }] });
    started.push(token);
    const dataverse = await startDataverseEmulator({
      ...options.dataverse,
      schema: options.schema ?? (options.seed === false ? withoutSeed(DEMO_SCHEMA_PATH) : DEMO_SCHEMA_PATH),
      auth: { jwks: () => token.jwks(), issuer: `${token.authorityHost}/${tenantId}/v2.0`, authorityHost: token.authorityHost, tenantId },
    });
    started.push(dataverse);
    const appKey = secret();
    const app = await startSampleApp({ apiKey: appKey, seed: options.seed ?? true });
    started.push(app);
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
    };
    return {
      env, dataverse, app, token, azurite,
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
