/**
 * A F&O emulator behind the repo's local token endpoint, with tokens obtained by @azure/identity
 * (scope `<url>/.default`) for two apps: `allowed` (on the policy) and `other` (not on it).
 */
import { randomUUID } from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { startTokenServer, type TokenServer } from "../../emulators/token/index.js";
import { startFinopsEmulator, type FinopsEmulator, type FinopsEmulatorOptions } from "../../emulators/finops/index.js";

export const IMPORT_ID = "6D31E09F-0249-459F-94F0-AAD9C2C47B64";
export const EXPORT_ID = "C03BB937-09ED-46DE-86EE-4520D7D7E373";
export const PACKAGE_IMPORT_ID = "1B7C2A9E-5D3F-4E61-9A0B-2C4D6E8F0A13";

/** A Response whose JSON body tests read freely (they assert its shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FoAnswer = Omit<Response, "json"> & { json(): Promise<any> };

export interface FinopsHarness {
  emulator: FinopsEmulator;
  tokens: TokenServer;
  allowedAppId: string;
  otherAppId: string;
  /** fetch against the emulator with the allowed app's token (or `as: "other"`, or `token: null` for none). */
  fo(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string>; as?: "allowed" | "other"; token?: string | null }): Promise<FoAnswer>;
  /** POST an OData action and return its `value`. */
  action(name: string, args: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

export async function startFinopsHarness(options: Partial<FinopsEmulatorOptions> = {}): Promise<FinopsHarness> {
  const tenantId = randomUUID();
  const allowed = { clientId: randomUUID(), clientSecret: `s-${randomUUID()}` };
  const other = { clientId: randomUUID(), clientSecret: `s-${randomUUID()}` };
  const tokens = await startTokenServer({ tenantId, clients: [allowed, other] });
  // A still clock: only advance() moves emulator time, so redelivery and batch steps are exact.
  const start = Date.parse("2026-03-02T08:00:00Z");
  const emulator = await startFinopsEmulator({ tokenIssuer: tokens, allowedAppIds: [allowed.clientId], batchDelayMs: 1000, clock: { now: () => start }, ...options });
  emulator.defineJob({ activityId: IMPORT_ID, direction: "import", entity: "Customer groups", format: "csv", keyFields: ["CUSTOMERGROUPID"] });
  emulator.defineJob({ activityId: EXPORT_ID, direction: "export", entity: "Sales order headers V2", format: "package" });
  emulator.defineJob({ activityId: PACKAGE_IMPORT_ID, direction: "import", entity: "Customer groups", format: "package", keyFields: ["CUSTOMERGROUPID"] });
  const credential = (c: typeof allowed) => new ClientSecretCredential(tenantId, c.clientId, c.clientSecret, { authorityHost: tokens.authorityHost, disableInstanceDiscovery: true });
  const credentials = { allowed: credential(allowed), other: credential(other) };
  const tokenFor = async (as: "allowed" | "other") => (await credentials[as].getToken(`${emulator.url}/.default`)).token;

  const fo: FinopsHarness["fo"] = async (path, init = {}) => {
    const token = init.token === undefined ? await tokenFor(init.as ?? "allowed") : init.token;
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers };
    let body: string | Uint8Array | undefined;
    if (Buffer.isBuffer(init.body)) body = new Uint8Array(init.body);
    else if (typeof init.body === "string") body = init.body;
    else if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers["content-type"] ??= "application/json";
    }
    return fetch(/^https?:/.test(path) ? path : `${emulator.url}${path}`, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  };
  const action: FinopsHarness["action"] = async (name, args) => {
    const res = await fo(`/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.${name}`, { body: args });
    if (res.status !== 200) throw new Error(`${name} answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { value: unknown }).value;
  };
  return {
    emulator, tokens, allowedAppId: allowed.clientId, otherAppId: other.clientId, fo, action,
    async close() {
      await emulator.close();
      await tokens.stop();
    },
  };
}

export function customerGroupsCsv(count: number, prefix = "CG"): string {
  const lines = ["CUSTOMERGROUPID,DESCRIPTION"];
  for (let i = 1; i <= count; i++) lines.push(`${prefix}${String(i).padStart(3, "0")},"Group ${i}, wholesale"`);
  return `${lines.join("\r\n")}\r\n`;
}

export const enqueuePath = (activityId = IMPORT_ID, entity = "Customer groups") =>
  `/api/connector/enqueue/${encodeURIComponent(`{${activityId}}`)}?entity=${encodeURIComponent(entity)}&company=USMF`;
