/**
 * Webhook deliveries as Dataverse makes them for an asynchronous PostOperation step
 * (dataverse-web-api.md §9): POST a RemoteExecutionContext after the write commits, never blocking
 * it; 60 s timeout; exactly one more attempt on 502/503/504 only; over 256 KB the large context
 * properties are dropped. Each delivery ends as a system-job-like record: statuscode 30 Succeeded
 * or 31 Failed. Only loopback receivers are accepted so tests can never call out.
 */
import { randomUUID } from "node:crypto";
import { buildExecutionContext, serializeWcf } from "./executionContext.js";
import type { ChangeEvent, ChangeMessage, EmulatorContext } from "./types.js";

export const WEBHOOK_SIZE_LIMIT_BYTES = 256 * 1024;
const RETRYABLE = new Set([502, 503, 504]);
const LARGE_PROPERTIES = ["ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"];
const MAX_DELIVERY_RECORDS = 10_000;

export interface WebhookRegistration {
  table: string;
  messages: ChangeMessage[];
  url: string;
  authType: "WebhookKey" | "HttpHeader" | "HttpQueryString";
  /** WebhookKey: the key. HttpHeader / HttpQueryString: name -> value pairs (or the `<settings>` XML). */
  authValue: string | Record<string, string>;
  /** Update steps fire only when one of these columns was written. */
  filteringAttributes?: string[];
  /** Primary name column for the AsynchronousStepPrimaryName image (guessed when absent). */
  primaryName?: string;
}

export interface DeliveryRecord {
  id: string;
  registrationId: string;
  message: ChangeMessage;
  table: string;
  recordId: string;
  correlationId: string;
  attempts: number;
  status: "succeeded" | "failed";
  /** As on asyncoperation: 30 Succeeded, 31 Failed. */
  statuscode: 30 | 31;
  httpStatus?: number;
  error?: string;
  /** The payload was over 256 KB and went without its large properties. */
  sizeExceeded: boolean;
}

export class WebhookDispatcher {
  private readonly registrations = new Map<string, WebhookRegistration>();
  private readonly records: DeliveryRecord[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly aborter = new AbortController();
  private readonly timeoutMs: number;
  private readonly unsubscribe: () => void;

  constructor(private readonly ctx: EmulatorContext, options: { timeoutMs?: number } = {}) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.unsubscribe = ctx.onChange((event) => this.onChange(event));
  }

  register(reg: WebhookRegistration): string {
    let url: URL;
    try {
      url = new URL(reg.url);
    } catch {
      throw new TypeError("Webhook url is not a valid absolute URL.");
    }
    if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname) || !/^https?:$/.test(url.protocol)) {
      throw new TypeError("Webhook url must be an http(s) loopback address (127.0.0.1, localhost or [::1]).");
    }
    if (!Array.isArray(reg.messages) || reg.messages.length === 0) throw new TypeError("Webhook messages must list Create, Update and/or Delete.");
    if (!["WebhookKey", "HttpHeader", "HttpQueryString"].includes(reg.authType)) throw new TypeError("Webhook authType must be WebhookKey, HttpHeader or HttpQueryString.");
    const id = randomUUID();
    this.registrations.set(id, { ...reg, messages: [...reg.messages] });
    return id;
  }

  unregister(id: string): void {
    this.registrations.delete(id);
  }

  deliveries(): DeliveryRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /** Resolves when every delivery started so far has finished (retries included). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  close(): void {
    this.unsubscribe();
    this.registrations.clear();
    this.aborter.abort();
  }

  private onChange(event: ChangeEvent): void {
    for (const [registrationId, reg] of this.registrations) {
      if (!fires(reg, event)) continue;
      // The payload is built now, from the committed row, so later writes cannot leak into it.
      let prepared: { body: string; sizeExceeded: boolean };
      try {
        prepared = payload(event, this.ctx, registrationId, reg);
      } catch (error) {
        this.remember(base(registrationId, event), 0, undefined, `Could not build the payload: ${(error as Error).message}`);
        continue;
      }
      const delivery = this.deliver(registrationId, reg, event, prepared).finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
  }

  private async deliver(registrationId: string, reg: WebhookRegistration, event: ChangeEvent, prepared: { body: string; sizeExceeded: boolean }): Promise<void> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-ms-dynamics-organization": new URL(this.ctx.origin).host,
      "x-ms-dynamics-entity-name": event.table,
      "x-ms-dynamics-request-name": event.message,
      "x-ms-correlation-request-id": event.correlationId,
      "x-request-id": randomUUID(),
      ...(prepared.sizeExceeded ? { "x-ms-dynamics-msg-size-exceeded": "true" } : {}),
    };
    const url = new URL(reg.url);
    applyAuth(reg, url, headers);
    const record = base(registrationId, event);
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const outcome = await this.attempt(url, headers, prepared.body);
      if (this.aborter.signal.aborted) return;
      const retry = attempts === 1 && outcome.status !== undefined && RETRYABLE.has(outcome.status);
      if (!retry) {
        const failure = outcome.error ?? (outcome.status !== undefined && (outcome.status < 200 || outcome.status > 299) ? `HTTP ${outcome.status}` : undefined);
        this.remember({ ...record, sizeExceeded: prepared.sizeExceeded }, attempts, outcome.status, failure);
        return;
      }
    }
  }

  private async attempt(url: URL, headers: Record<string, string>, body: string): Promise<{ status?: number; error?: string }> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.aborter.signal]);
    try {
      const response = await fetch(url, { method: "POST", headers, body, signal, redirect: "manual" });
      await response.arrayBuffer().catch(() => undefined); // Dataverse ignores the body; drain the socket
      return { status: response.status };
    } catch (error) {
      const name = (error as Error).name;
      if (name === "TimeoutError") return { error: `Timed out after ${this.timeoutMs} ms.` };
      // Never echo the URL: it may carry the webhook key.
      const code = ((error as { cause?: { code?: string } }).cause?.code) ?? name;
      return { error: `The request to the webhook receiver failed (${code}).` };
    }
  }

  private remember(record: Omit<DeliveryRecord, "attempts" | "status" | "statuscode">, attempts: number, httpStatus: number | undefined, error: string | undefined): void {
    const succeeded = error === undefined;
    this.records.push({
      ...record,
      attempts,
      status: succeeded ? "succeeded" : "failed",
      statuscode: succeeded ? 30 : 31,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      ...(error !== undefined ? { error } : {}),
    });
    if (this.records.length > MAX_DELIVERY_RECORDS) this.records.splice(0, this.records.length - MAX_DELIVERY_RECORDS);
  }
}

function fires(reg: WebhookRegistration, event: ChangeEvent): boolean {
  if (reg.table !== event.table || !reg.messages.includes(event.message)) return false;
  if (event.message !== "Update" || !reg.filteringAttributes?.length) return true;
  const filter = new Set(reg.filteringAttributes.map((a) => a.toLowerCase()));
  return Object.keys(event.changed).some((key) => {
    const column = key.replace(/@odata\.bind$/, "").replace(/^_(.+)_value$/, "$1").toLowerCase();
    return filter.has(column);
  });
}

function payload(event: ChangeEvent, ctx: EmulatorContext, registrationId: string, reg: WebhookRegistration): { body: string; sizeExceeded: boolean } {
  const context = buildExecutionContext(event, ctx, { stepId: registrationId, primaryName: reg.primaryName });
  const body = serializeWcf(context);
  if (Buffer.byteLength(body) <= WEBHOOK_SIZE_LIMIT_BYTES) return { body, sizeExceeded: false };
  for (const property of LARGE_PROPERTIES) delete context[property];
  return { body: serializeWcf(context), sizeExceeded: true };
}

function applyAuth(reg: WebhookRegistration, url: URL, headers: Record<string, string>): void {
  if (reg.authType === "WebhookKey") {
    url.searchParams.set("code", typeof reg.authValue === "string" ? reg.authValue : Object.values(reg.authValue)[0] ?? "");
    return;
  }
  const pairs = typeof reg.authValue === "string" ? parseSettings(reg.authValue) : reg.authValue;
  for (const [name, value] of Object.entries(pairs)) {
    if (reg.authType === "HttpHeader") headers[name.toLowerCase()] = value;
    else url.searchParams.set(name, value);
  }
}

/** `<settings><setting name="K" value="V" /></settings>` as the registration tools store it. */
function parseSettings(xml: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const match of xml.matchAll(/<setting\s+name="([^"]*)"\s+value="([^"]*)"\s*\/>/g)) pairs[match[1]] = match[2];
  return pairs;
}

function base(registrationId: string, event: ChangeEvent) {
  return {
    id: randomUUID(),
    registrationId,
    message: event.message,
    table: event.table,
    recordId: event.id,
    correlationId: event.correlationId,
    sizeExceeded: false,
  };
}
