import { randomUUID } from "node:crypto";
import { startSampleApp, demoSeed, type SampleApp } from "../../test/emulators/app/index.js";
import { startDataverseEmulator, type DataverseEmulator } from "../../test/emulators/dataverse/index.js";
import type { TokenServer } from "../../test/emulators/token/index.js";
import type { SyncConfig } from "../config/mapping.js";
import { Settings } from "../names.js";
import type { Services } from "../runtime/services.js";
import { tenantsOf } from "./tenants.js";

/** The Entra tenant ids of the demo's customers, made before the token endpoint starts (it must know them). */
export function demoEntraTenants(count: number): string[] {
  return Array.from({ length: count }, () => randomUUID());
}

export interface DemoTenant {
  id: string;
  entraTenantId: string;
  dataverse: DataverseEmulator;
  app: SampleApp;
}

/**
 * `npm start -- --tenants N`: N more customers next to the stack's own, each with its own Entra
 * tenant at the same token endpoint, its own Dataverse emulator (its own organization) and its own
 * app, registered through the registry exactly as POST /api/tenants does (token + WhoAmI), with
 * their webhooks pointed at the runner (routed by OrganizationId, each with its tenant's key).
 */
export async function startDemoTenants(options: {
  services: Services; config: SyncConfig; token: TokenServer; entraTenants: string[]; schema: object | string; runnerUrl: string; appApiKey: string;
}): Promise<{ tenants: DemoTenant[]; env: Record<string, string>; stop(): Promise<void> }> {
  const stops: (() => Promise<void>)[] = [];
  const tenants: DemoTenant[] = [];
  const env: Record<string, string> = {};
  const dir = tenantsOf(options.services);
  try {
    for (const [i, entraTenantId] of options.entraTenants.entries()) {
      const id = `tenant${i + 1}`;
      const dataverse = await startDataverseEmulator({
        schema: options.schema, organizationName: `demo-${id}`,
        auth: { jwks: () => options.token.jwks(), issuer: options.token.issuerFor(entraTenantId), authorityHost: options.token.authorityHost, tenantId: entraTenantId },
      });
      stops.push(() => dataverse.stop());
      const app = await startSampleApp({
        apiKey: options.appApiKey,
        seed: { group: demoSeed.group, mentor: demoSeed.mentor.map((m) => ({ ...m, data: { ...m.data, lastName: `${String(m.data.lastName)} (${id})` } })) },
      });
      stops.push(() => app.stop());
      const result = await dir.register({ id, tenantId: entraTenantId, dynamicsInstanceUrl: dataverse.origin, appBaseUrl: app.baseUrl }, new Date(options.services.clock.now()).toISOString());
      if (result.status !== "active") throw new Error(`demo tenant ${id} could not be registered: ${result.status}`);
      const services = await dir.services(id);
      const keys = services.settings.webhooks;
      for (const m of options.config.mappings) {
        dataverse.webhooks.register({
          table: m.dataverse.table, messages: ["Create", "Update", "Delete"], url: `${options.runnerUrl}/api/webhooks/dataverse`,
          authType: "WebhookKey", authValue: keys.dataverseKey ?? "",
        });
      }
      if (keys.appSecret) app.setNotify({ url: `${options.runnerUrl}/api/webhooks/app?tenant=${id}`, secret: keys.appSecret });
      tenants.push({ id, entraTenantId, dataverse, app });
      const name = id.toUpperCase();
      Object.assign(env, {
        [`${name}_${Settings.dynamicsTenantId}`]: entraTenantId,
        [`${name}_${Settings.dynamicsInstanceUrl}`]: dataverse.origin,
        [`${name}_${Settings.appBaseUrl}`]: app.baseUrl,
      });
    }
    return { tenants, env, stop: async () => { for (const s of stops.reverse()) await s().catch(() => undefined); } };
  } catch (e) {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    throw e;
  }
}
