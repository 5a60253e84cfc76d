/**
 * Shapes shared by the parts of the Finance & Operations emulator. Behaviour follows
 * ../shared/docs/finops-activities-tenants.md part 1; every choice the sources leave open is an
 * option in `InferredChoices` (marked `// inferred:`) and listed in README.md.
 */
import { randomUUID } from "node:crypto";
import type { EmulatorAuthOptions } from "../dataverse/auth.js";

export type Row = Record<string, string>;
export type RecordFailure = (row: Row) => string | undefined;

export interface FinopsJob {
  /** The recurring data job's ID (braces and case do not matter). */
  activityId: string;
  direction: "import" | "export";
  /** The entity name (`entity=` on enqueue for file jobs, `EntityName` in a package's Manifest.xml). */
  entity: string;
  /** `csv`: a File job (CSV); `package`: a Data package job. */
  format: "csv" | "package";
  /** The job's authorization policy; default: the emulator's `allowedAppIds`. */
  allowedAppIds?: string[];
  /** Columns naming a row in the error-keys file (default: the file's first column). */
  keyFields?: string[];
  /** A disabled job answers like an unknown one (default true). */
  enabled?: boolean;
}

/** A data project for the package API (`definitionGroupId`). */
export interface FinopsProject {
  name: string;
  entity: string;
  /** Rows ExportToPackage exports (all of them, each time). */
  rows?: Row[];
  keyFields?: string[];
}

export interface InferredChoices {
  // inferred: the enqueue answer; both Microsoft-era clients see a JSON string literal, a third-party doc `{"value":…}`.
  enqueueAnswer?: "quoted" | "object";
  // inferred: the status for an unknown or disabled activity (no source documents it).
  unknownActivityStatus?: 400 | 404 | 500;
  // inferred: the status for an app that is not on the job's authorization policy.
  notAuthorizedStatus?: 403 | 500;
  // inferred: an ack whose PopReceipt is not the message's latest: "reject" (400) or "accept".
  staleAck?: "reject" | "accept";
  // inferred: each redelivery gets a fresh CorrelationId (default: only a fresh PopReceipt).
  freshCorrelationIdOnRedelivery?: boolean;
  // inferred: GetExecutionErrors' value is a JSON array encoded as a string ("string") or a plain array.
  executionErrorsAs?: "string" | "array";
  // inferred: a CSV file job's download is the CSV itself ("file") or a zip holding it ("zip").
  csvExportAs?: "file" | "zip";
  // inferred: how many GetImportTargetErrorKeysFileUrl calls answer "" after the file is generated.
  errorKeysEmptyPolls?: number;
  // inferred: lifetime of SAS URLs handed out (GetAzureWriteUrl, exported packages, error keys).
  sasLifetimeMs?: number;
}

export interface FinopsEmulatorOptions extends InferredChoices {
  /** How to verify bearer tokens: a TokenServer fits as is (jwks + issuer), like the Dataverse emulator's `auth`. */
  tokenIssuer: EmulatorAuthOptions;
  /** On every job's authorization policy unless the job has its own; the package API's registered apps. Absent: any app. */
  allowedAppIds?: string[];
  /** Emulator time (ms epoch); `advance()` adds to it. Default: real time. */
  clock?: { now(): number };
  /** Unacked export messages come back after this long (default 30 min). */
  redeliveryMs?: number;
  /** DownloadLocation as `http://<host>:80/…` (the load-balancer quirk). */
  httpDownloadLocation?: boolean;
  /** Time per status step of the simulated batch (default 1,000 ms of emulator time). */
  batchDelayMs?: number;
  port?: number;
}

export interface MessageInfo {
  messageId: string;
  activityId: string;
  direction: "import" | "export";
  status: string;
  executionId?: string;
  externalIdentifier?: string;
  company?: string;
  correlationId?: string;
  dequeueCount?: number;
  acked?: boolean;
  /** ISO times in emulator time. */
  enqueuedAt: string;
  lastDequeuedAt?: string;
  records?: number;
}

/** An answer the HTTP layer sends. `stream` bodies are piped (exports are generated streamed). */
export interface FoResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer | NodeJS.ReadableStream;
}

/** An error answered as `{"error":{"code","message"}}` (or as the blob service's XML for blobs). */
export class FinopsFault extends Error {
  constructor(readonly status: number, message: string, readonly code = "", readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = "FinopsFault";
  }
}

export const EMPTY_GUID = "00000000-0000-0000-0000-000000000000";

/** `{6D31E09F-…}`, `%7B6d31…%7D`, `"6d31…"` → `6d31e09f-…` (lower case) for comparisons. */
export function normalizeGuid(raw: string): string {
  let s = raw.trim();
  try {
    s = decodeURIComponent(s);
  } catch {
    // keep it as given; a malformed escape simply will not match any id
  }
  return s.replace(/^"|"$/g, "").replace(/^\{|\}$/g, "").toLowerCase();
}

export function newGuid(): string {
  return randomUUID();
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): FoResponse {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(value) };
}

/**
 * A JSON object body. F&O accepts relaxed JSON: d365fo.integrations sends `{'messageId':'…'}`
 * (doc 1.11), so single-quoted strings are read too. Keys are matched case-insensitively.
 */
export function readJsonObject(body: Buffer | string): { get(name: string): unknown } {
  const text = (Buffer.isBuffer(body) ? body.toString("utf8") : body).replace(/^\uFEFF/, "").trim();
  if (!text) throw new FinopsFault(400, "The request body is empty; a JSON object was expected.");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      value = JSON.parse(text.replace(/'((?:[^'\\]|\\.)*)'/g, (_, s: string) => JSON.stringify(s.replace(/\\'/g, "'"))));
    } catch {
      throw new FinopsFault(400, "The request body is not valid JSON.");
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new FinopsFault(400, "The request body must be a JSON object.");
  const entries = new Map(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name) => entries.get(name.toLowerCase()) };
}

/** An F&O-style OData answer for an action: `{"@odata.context":"…#Edm.String","value":…}`. */
export function odataValue(origin: string, type: "Edm.String" | "Edm.Boolean" | "Collection(Edm.String)", value: unknown): FoResponse {
  return json(200, { "@odata.context": `${origin}/data/$metadata#${type}`, value }, { "odata-version": "4.0" });
}
