import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import functions from "@azure/functions";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { Settings } from "../../../shared/config/settings.js";
import type { Clock, Logger, WhoAmI } from "../../../shared/ports.js";
import type { Services } from "../../../shared/runtime/services.js";
import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";

const { HttpRequest, InvocationContext } = functions;

/** The GUIDs of the documented example (dataverse-web-api.md §9). */
export const DOC_IDS = {
  record: "6d81597f-0f9f-e711-8122-000d3aa2331c",
  organization: "4ef5b371-e89e-e711-8122-000d3aa2331c",
  user: "75c2dd85-e89e-e711-8122-000d3aa2331c",
} as const;

export const KEY = "webhook-key-0123456789abcdef";
export const HEADER = { name: "X-Sync-Key", value: "header-value-0123456789abcdef" };
export const HMAC_SECRET = "hmac-secret-0123456789abcdef";
export const APP_SECRET = "app-secret-0123456789abcdef";
export const OUR_USER = "11111111-2222-3333-4444-555555555555";

export function documentedContextText(): string {
  return readFileSync(new URL("../../fixtures/webhooks/dataverse-contact-update.json", import.meta.url), "utf8");
}

/** The documented example with our environment's ids (text replacement keeps the WCF escapes). */
export function adaptDocumentedContext(ids: { record?: string; organization?: string; user?: string } = {}, text = documentedContextText()): string {
  return text
    .replaceAll(DOC_IDS.record, ids.record ?? DOC_IDS.record)
    .replaceAll(DOC_IDS.organization, ids.organization ?? DOC_IDS.organization)
    .replaceAll(DOC_IDS.user, ids.user ?? DOC_IDS.user);
}

/** What Dataverse sends over 256 KB: the large properties removed. */
export function truncated(text: string): string {
  const body = JSON.parse(text) as Record<string, unknown>;
  for (const p of ["ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"]) delete body[p];
  return JSON.stringify(body);
}

export interface FakeServices {
  services: Services;
  queue: MemoryWorkQueue<RecordEventMessage>;
  logs: { level: string; message: string; props?: Record<string, unknown> }[];
  clock: Clock & { set(ms: number): void };
  whoAmICalls: () => number;
}

/**
 * The slice of Services the webhook handlers use: the demo mapping file, a memory record-events
 * queue, an injected clock and a scripted WhoAmI. Dataverse itself is never called.
 */
export function fakeServices(webhooks: Settings["webhooks"], options: { whoAmI?: () => Promise<WhoAmI>; maxBodyBytes?: number } = {}): FakeServices {
  let now = Date.parse("2025-03-01T12:00:00Z");
  const clock = { now: () => now, sleep: async () => undefined, set: (ms: number) => void (now = ms) };
  const queue = new MemoryWorkQueue<RecordEventMessage>("record-events", clock);
  const logs: FakeServices["logs"] = [];
  const log = (level: string) => (message: string, props?: Record<string, unknown>) => void logs.push({ level, message, props });
  const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  const demo = JSON.parse(readFileSync(new URL("../../../sync.config.json", import.meta.url), "utf8")) as { options?: Record<string, unknown> };
  if (options.maxBodyBytes) demo.options = { ...demo.options, webhookMaxBodyBytes: options.maxBodyBytes };
  const config = parseSyncConfig(demo, "demo");
  let calls = 0;
  const whoAmI = options.whoAmI ?? (async () => ({ UserId: OUR_USER, BusinessUnitId: DOC_IDS.user, OrganizationId: DOC_IDS.organization }));
  const dataverse = { whoAmI: () => (calls++, whoAmI()) };
  const services = { settings: { webhooks } as Settings, config, queues: { recordEvents: queue }, dataverse, clock, logger } as unknown as Services;
  return { services, queue, logs, clock, whoAmICalls: () => calls };
}

export function request(init: { path: string; body?: string; headers?: Record<string, string>; params?: Record<string, string> }) {
  return new HttpRequest({
    method: "POST",
    url: `http://127.0.0.1:7071${init.path}`,
    body: { string: init.body ?? "" },
    headers: { "content-type": "application/json", ...init.headers },
    params: init.params,
  });
}

export const invocation = (name: string) => new InvocationContext({ functionName: name });

export async function received(queue: MemoryWorkQueue<RecordEventMessage>): Promise<RecordEventMessage[]> {
  return (await queue.receive(32, 60_000)).map((m) => m.body);
}

export const hmacHex = (secret: string, payload: string) => createHmac("sha256", secret).update(payload).digest("hex");
export const hmacBase64 = (secret: string, payload: string) => createHmac("sha256", secret).update(payload).digest("base64");

/** Headers of a correctly signed app notice. */
export function appSignature(body: string, timestamp: string, secret = APP_SECRET): Record<string, string> {
  return { "x-sync-timestamp": timestamp, "x-sync-signature": `sha256=${hmacHex(secret, `${timestamp}.${body}`)}` };
}
