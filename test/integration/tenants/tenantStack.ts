import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { Settings } from "../../../shared/names.js";
import type { Logger } from "../../../shared/ports.js";
import { createServices, type Services } from "../../../shared/runtime/services.js";
import type { ApiRequest, ApiResponse } from "../../../shared/api/apiTypes.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";
import { registerTenantApi } from "../../../shared/tenants/tenantsApi.js";
import { startSampleApp, demoSeed, type SampleApp, type SeedData } from "../../emulators/app/index.js";
import { DEMO_SCHEMA_PATH, startDataverseEmulator, type DataverseEmulator } from "../../emulators/dataverse/index.js";
import { startTokenServer, type TokenServer } from "../../emulators/token/index.js";
import type { ThrottleOptionsInput } from "../../emulators/dataverse/throttle.js";

/** One emulated customer: its Entra tenant id at the shared token endpoint, its own Dataverse and its own app. */
export interface EmulatedTenant {
  id: string;
  entraTenantId: string;
  dataverse: DataverseEmulator;
  app: SampleApp;
}

export interface TenantStack {
  token: TokenServer;
  clientId: string;
  env: Record<string, string>;
  /** The settings' own tenant (`default`). */
  home: EmulatedTenant;
  tenants: Record<string, EmulatedTenant>;
  base: Services;
  tablePrefix: string;
  logs: { level: string; message: string; props?: Record<string, unknown> }[];
  notices: Record<string, unknown>[];
  /** An ApiRequest as the Functions host would hand it to a handler. */
  request(method: string, path: string, options?: { body?: unknown; key?: string | null; params?: Record<string, string>; headers?: Record<string, string> }): ApiRequest;
  stop(): Promise<void>;
}

/** The demo's groups and mentors, with the mentors' last names tagged by tenant: whose data landed where shows in Dataverse. */
export function taggedSeed(tag: string): SeedData {
  return {
    group: demoSeed.group,
    mentor: demoSeed.mentor.map((m) => ({ ...m, data: { ...m.data, lastName: `${String(m.data.lastName)} ${tag}` } })),
  };
}

export interface TenantStackOptions {
  /** Registered-tenant ids to emulate (each gets an Entra tenant, a Dataverse emulator and an app). */
  tenants: string[];
  /** Tenants whose org has no application user for the app. */
  withoutApplicationUser?: string[];
  throttle?: ThrottleOptionsInput;
  /** The storage connection string (default: the test run's Azurite, from the global setup). */
  storage?: string;
  /** Each tenant's app records (default: `taggedSeed(id)`); the Dataverse emulators then start without demo rows. */
  seed?: (tenant: string) => SeedData;
  /** Keep request bodies out of the emulators' logs (long benchmark loads). */
  lightLogs?: boolean;
  logger?: Logger;
  /** "storage": the deployment's queues on Azurite, as the local runner and the Functions host use them (default "memory"). */
  queues?: "memory" | "storage";
  /** Mapping-file options over the demo's (e.g. a smaller `chunkSize`). */
  configOptions?: Record<string, unknown>;
  /** The fetch every tenant's Dataverse client uses (tests observe or hold requests with it). */
  dataverseFetch?: typeof fetch;
}

const secret = () => randomBytes(24).toString("base64url");

/**
 * Azurite (from the global setup), ONE token endpoint serving every customer's Entra tenant for
 * ONE multi-tenant app registration, and per customer its own Dataverse emulator (its own org id)
 * and its own App Sync API. `base` is the deployment's default services (memory queues).
 */
export async function startTenantStack(options: TenantStackOptions): Promise<TenantStack> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const clientId = randomUUID();
    const clientSecret = secret();
    const homeTenant = randomUUID();
    const entra = Object.fromEntries(options.tenants.map((t) => [t, randomUUID()]));
    // Tokens shorter-lived than the refresh margin: every token use asks Entra again, so a consent
    // withdrawn now is seen by the next run (with Entra's ~1 h tokens: by the next refresh).
    const token = await startTokenServer({ tenantId: homeTenant, tenants: Object.values(entra), clients: [{ clientId, clientSecret }], tokenLifetimeSeconds: 120 });
    stops.push(() => token.stop());
    const appKey = secret();
    const emulate = async (id: string, entraTenantId: string): Promise<EmulatedTenant> => {
      const dataverse = await startDataverseEmulator({
        schema: options.seed ? withoutRows() : DEMO_SCHEMA_PATH, organizationName: `org-${id}`, throttle: options.throttle,
        ...(options.lightLogs ? { log: { bodies: false } } : {}),
        auth: { jwks: () => token.jwks(), issuer: token.issuerFor(entraTenantId), authorityHost: token.authorityHost, tenantId: entraTenantId },
        withoutApplicationUser: options.withoutApplicationUser?.includes(id) ? [clientId] : [],
      });
      stops.push(() => dataverse.stop());
      const app = await startSampleApp({ apiKey: appKey, seed: (options.seed ?? taggedSeed)(id) });
      stops.push(() => app.stop());
      return { id, entraTenantId, dataverse, app };
    };
    const home = await emulate("default", homeTenant);
    const tenants: Record<string, EmulatedTenant> = {};
    for (const t of options.tenants) tenants[t] = await emulate(t, entra[t]);
    const notices: Record<string, unknown>[] = [];
    const notifyServer: Server = createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString("utf8")));
      req.on("end", () => {
        notices.push(JSON.parse(text) as Record<string, unknown>);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => notifyServer.listen(0, "127.0.0.1", () => r()));
    stops.push(() => new Promise<void>((r) => { notifyServer.closeAllConnections(); notifyServer.close(() => r()); }));
    const storage = options.storage ?? (await import("../../support/storage.js")).azuriteConnectionString();
    const env: Record<string, string> = {
      [Settings.dynamicsInstanceUrl]: home.dataverse.origin,
      [Settings.dynamicsTenantId]: homeTenant,
      [Settings.dynamicsClientId]: clientId,
      [Settings.dynamicsClientSecret]: clientSecret,
      [Settings.dynamicsAuthorityHost]: token.authorityHost,
      [Settings.storage]: storage,
      [Settings.syncConfigPath]: resolve("sync.config.json"),
      [Settings.appBaseUrl]: home.app.baseUrl,
      [Settings.appApiKey]: appKey,
      [Settings.adminApiKey]: secret(),
      [Settings.dataverseWebhookKey]: secret(),
      [Settings.appWebhookSecret]: secret(),
      [Settings.notifyWebhookUrl]: `http://127.0.0.1:${(notifyServer.address() as AddressInfo).port}/notify`,
    };
    const logs: TenantStack["logs"] = [];
    const logger: Logger = options.logger ?? {
      debug: () => undefined,
      info: (message, props) => logs.push({ level: "info", message, props }),
      warn: (message, props) => logs.push({ level: "warn", message, props }),
      error: (message, props) => logs.push({ level: "error", message, props }),
    };
    const tablePrefix = `mt${randomBytes(5).toString("hex")}`;
    const demo = JSON.parse(readFileSync(resolve("sync.config.json"), "utf8")) as object;
    const demoOptions = { ...(demo as { options?: object }).options, ...(options.seed ? { massDeleteMinimum: 1_000_000 } : {}), ...options.configOptions };
    const config = parseSyncConfig({ ...demo, options: demoOptions }, "test config", { registry: defaultRegistry.names() });
    const base = await createServices({
      settings: loadSettings(env), config, queues: options.queues ?? "memory", tablePrefix, logger, env,
      ...(options.queues === "storage" ? { queuePrefix: `${tablePrefix}-` } : {}),
      ...(options.dataverseFetch ? { dataverseFetch: options.dataverseFetch } : {}),
    });
    return {
      token, clientId, env, home, tenants, base, tablePrefix, logs, notices,
      request(method, path, o = {}) {
        const url = new URL(`http://127.0.0.1:7071/api/${path}`);
        const headers = new Headers(o.headers);
        if (o.key !== null) headers.set("x-functions-key", o.key ?? env[Settings.adminApiKey]);
        const text = o.body === undefined ? "" : typeof o.body === "string" ? o.body : JSON.stringify(o.body);
        return { method, url: url.toString(), headers, query: url.searchParams, params: o.params ?? {}, text: async () => text };
      },
      async stop() {
        for (const s of stops.reverse()) await s().catch(() => undefined);
      },
    };
  } catch (e) {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    throw e;
  }
}

export const bodyOf = (r: ApiResponse) => r.jsonBody as Record<string, any>;

/** Registers every emulated customer as `POST /api/tenants` does (a token and WhoAmI); throws naming one that was refused. */
export async function registerTenants(stack: TenantStack): Promise<void> {
  for (const t of Object.values(stack.tenants)) {
    const res = await registerTenantApi(stack.request("POST", "tenants", {
      body: { id: t.id, tenantId: t.entraTenantId, dynamicsInstanceUrl: t.dataverse.origin, appBaseUrl: t.app.baseUrl },
    }), stack.base);
    if (res.status !== 201) throw new Error(`tenant ${t.id} not registered: ${res.status} ${JSON.stringify(res.jsonBody)}`);
  }
}

/** The demo schema without its demo rows (the platform's users and business unit stay). */
function withoutRows(): object {
  const schema = JSON.parse(readFileSync(DEMO_SCHEMA_PATH, "utf8")) as { tables: { logicalName: string; rows?: unknown[] }[] };
  for (const t of schema.tables) if (!["businessunit", "systemuser", "team"].includes(t.logicalName)) t.rows = [];
  return schema;
}
