import type { TokenSource } from "../dataverse/tokenProvider.js";
import { ErrorCodes, SyncError } from "../errors.js";
import { HttpClient, type HttpRequest, type HttpResponse, type RetryInfo } from "../http/httpClient.js";
import type { HttpBounds } from "../http/httpBounds.js";
import type { RetryPolicy } from "../http/retryPolicy.js";
import type { Clock } from "../ports.js";
import { classifyFinopsError } from "./classifyFinopsError.js";
import { downloadToFile, type Download } from "./download.js";

/**
 * The Finance & Operations wire client: the recurring-integrations connector API, the OData actions
 * on DataManagementDefinitionGroups and the Data management package API, as
 * finops-activities-tenants.md part 1 describes them. Every call goes through the product's
 * HttpClient (bounded, Retry-After as a floor through the Clock, a bounded number of attempts), with
 * a bearer token for `<FINOPS_BASE_URL>/.default`; blob URLs carry their SAS and get no token.
 */
export interface FinopsClientOptions {
  /** FINOPS_BASE_URL, no trailing slash. */
  baseUrl: string;
  tokens: TokenSource;
  clock: Clock;
  fetch?: typeof fetch;
  bounds?: Partial<HttpBounds>;
  policy?: RetryPolicy;
  onRetry?: (info: RetryInfo) => void;
}

/** What /dequeue answered (the raw text is what /ack is sent back, DOC-RI). */
export interface DequeuedMessage {
  raw: string;
  correlationId: string;
  popReceipt: string;
  downloadLocation: string;
  fileExists: boolean;
  downloadError?: string;
  lastDequeueDateTime?: string;
}

export interface ExecutionError {
  recordId: string;
  field: string;
  message: string;
}

export type FinopsOperation =
  | "enqueue" | "dequeue" | "download" | "ack" | "GetMessageStatus" | "GetExecutionIdByMessageId" | "GetExecutionErrors"
  | "GetAzureWriteUrl" | "blobPut" | "blobGet" | "ImportFromPackage" | "ExportToPackage" | "GetExecutionSummaryStatus"
  | "GetExportedPackageUrl" | "GenerateImportTargetErrorKeysFile" | "GetImportTargetErrorKeysFileUrl";

const ACTIONS = "/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.";

export class FinopsClient {
  private readonly http: HttpClient;
  private readonly blobs: HttpClient;
  /** Calls made, attempts included, per operation (the benchmark reports them). */
  readonly calls: Partial<Record<FinopsOperation, number>> = {};

  constructor(private readonly options: FinopsClientOptions) {
    const common = {
      fetch: options.fetch, clock: options.clock, bounds: options.bounds, policy: options.policy, setting: "FINOPS_BASE_URL",
      classify: classifyFinopsError, onRetry: options.onRetry,
    };
    this.http = new HttpClient({ ...common, prepare: async (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${await options.tokens.getToken()}` } }) });
    // SAS URLs authorize themselves; a bearer token must not travel to blob storage.
    this.blobs = new HttpClient({ ...common, setting: undefined });
  }

  /** POST /api/connector/enqueue/{activityId}: the message id (F&O answers a quoted GUID). */
  async enqueue(activityId: string, body: Uint8Array, query: { entity?: string; company?: string; externalId?: string }): Promise<string> {
    const params = new URLSearchParams();
    if (query.entity) params.set("entity", query.entity);
    if (query.company) params.set("company", query.company);
    const qs = params.size ? `?${params.toString().replace(/\+/g, "%20")}` : "";
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (query.externalId) headers["x-ms-dyn-externalidentifier"] = query.externalId;
    const res = await this.send("enqueue", { method: "POST", url: `${this.options.baseUrl}/api/connector/enqueue/${encodeURIComponent(`{${activityId}}`)}${qs}`, headers, body }, undefined, notSent);
    const id = stringValue(res.text);
    if (!id) throw unexpected(`enqueue answered no message id (${JSON.stringify(res.text.slice(0, 100))})`);
    return id;
  }

  /** GET /api/connector/dequeue/{activityId}: null when nothing waits (204). */
  async dequeue(activityId: string): Promise<DequeuedMessage | null> {
    const res = await this.send("dequeue", { method: "GET", url: `${this.options.baseUrl}/api/connector/dequeue/${encodeURIComponent(`{${activityId}}`)}` }, [204]);
    if (res.status === 204 || !res.text.trim()) return null;
    let body: Record<string, unknown>;
    try {
      body = lowerKeys(JSON.parse(res.text));
    } catch {
      throw unexpected("dequeue answered a body that is not JSON");
    }
    const correlationId = str(body.correlationid);
    const downloadLocation = str(body.downloadlocation);
    if (!correlationId || !downloadLocation) throw unexpected("dequeue answered without CorrelationId or DownloadLocation");
    return {
      raw: res.text, correlationId, popReceipt: str(body.popreceipt) ?? "", downloadLocation,
      // IsDownLoadFileExist / FileDownLoadErrorMessage: casing unverified, so read case-insensitively.
      fileExists: body.isdownloadfileexist !== false,
      ...(str(body.filedownloaderrormessage) ? { downloadError: str(body.filedownloaderrormessage) } : {}),
      ...(str(body.lastdequeuedatetime) ? { lastDequeueDateTime: str(body.lastdequeuedatetime) } : {}),
    };
  }

  /**
   * Streams a DownloadLocation to `file` with the bearer token. F&O behind a load balancer answers
   * `http://<host>:80/...` (DOC-RI): the scheme, host and port of FINOPS_BASE_URL are used instead.
   */
  download(location: string, file: string): Promise<Download> {
    return this.stream("download", fixDownloadLocation(location, this.options.baseUrl), file, true);
  }

  /** A SAS URL (an exported package, an error-keys file) streamed to `file`, without a token. */
  downloadBlob(url: string, file: string): Promise<Download> {
    return this.stream("blobGet", url, file, false);
  }

  /** POST /api/connector/ack/{activityId} with the dequeue answer as it came. */
  async ack(activityId: string, raw: string): Promise<void> {
    await this.send("ack", { method: "POST", url: `${this.options.baseUrl}/api/connector/ack/${encodeURIComponent(`{${activityId}}`)}`, headers: { "content-type": "application/json" }, body: raw });
  }

  async getMessageStatus(messageId: string): Promise<string> {
    return stringValue((await this.action("GetMessageStatus", { messageId })).text) ?? "";
  }

  /** The empty GUID until the batch has picked the message up. */
  async getExecutionIdByMessageId(messageId: string): Promise<string> {
    return stringValue((await this.action("GetExecutionIdByMessageId", { _messageId: messageId })).text) ?? "";
  }

  /** The execution's errors; `value` is a JSON array, double-encoded as a string (or plain). */
  async getExecutionErrors(executionId: string): Promise<ExecutionError[]> {
    const res = await this.action("GetExecutionErrors", { executionId });
    let value: unknown = odataValue(res.text);
    if (typeof value === "string") {
      const text = value;
      try {
        value = text.trim() ? JSON.parse(text) : [];
      } catch {
        return [{ recordId: "", field: "", message: text }];
      }
    }
    if (!Array.isArray(value)) return [];
    return value.map((e) => lowerKeys(e)).map((e) => ({ recordId: String(e.recordid ?? ""), field: String(e.field ?? ""), message: String(e.errormessage ?? e.message ?? "") }));
  }

  /** GetAzureWriteUrl: `value` is a JSON string holding {BlobId, BlobUrl}. */
  async getAzureWriteUrl(uniqueFileName: string): Promise<{ blobId: string; blobUrl: string }> {
    const text = stringValue((await this.action("GetAzureWriteUrl", { uniqueFileName })).text) ?? "";
    try {
      const inner = lowerKeys(JSON.parse(text));
      const blobUrl = str(inner.bloburl);
      if (blobUrl) return { blobId: str(inner.blobid) ?? "", blobUrl };
    } catch {
      // fall through
    }
    throw unexpected("GetAzureWriteUrl answered no BlobUrl");
  }

  /** PUT of a block blob at a SAS URL (RIS's headers; no Authorization). */
  async putBlob(url: string, body: Uint8Array): Promise<void> {
    const headers = { "x-ms-blob-type": "BlockBlob", "x-ms-date": new Date(this.options.clock.now()).toUTCString(), "content-type": "application/zip" };
    this.count("blobPut");
    await this.blobs.send({ method: "PUT", url, headers, body }, { onRetry: () => this.count("blobPut") });
  }

  async importFromPackage(args: { packageUrl: string; definitionGroupId: string; executionId: string; legalEntityId: string }): Promise<string> {
    const res = await this.action("ImportFromPackage", { ...args, execute: true, overwrite: true }, notSent);
    return stringValue(res.text) ?? "";
  }

  async exportToPackage(args: { definitionGroupId: string; packageName: string; executionId: string; legalEntityId: string }): Promise<string> {
    const res = await this.action("ExportToPackage", { ...args, reExecute: false });
    return stringValue(res.text) ?? "";
  }

  async getExecutionSummaryStatus(executionId: string): Promise<string> {
    return stringValue((await this.action("GetExecutionSummaryStatus", { executionId })).text) ?? "";
  }

  /** "" until the package is ready. */
  async getExportedPackageUrl(executionId: string): Promise<string> {
    return stringValue((await this.action("GetExportedPackageUrl", { executionId })).text) ?? "";
  }

  async generateImportTargetErrorKeysFile(executionId: string, entityName: string): Promise<boolean> {
    return odataValue((await this.action("GenerateImportTargetErrorKeysFile", { executionId, entityName })).text) === true;
  }

  /** "" while the file is generated or when there are no errors. */
  async getImportTargetErrorKeysFileUrl(executionId: string, entityName: string): Promise<string> {
    return stringValue((await this.action("GetImportTargetErrorKeysFileUrl", { executionId, entityName })).text) ?? "";
  }

  private action(name: FinopsOperation, body: Record<string, unknown>, retryIf?: (e: SyncError) => boolean): Promise<HttpResponse> {
    return this.send(name, { method: "POST", url: `${this.options.baseUrl}${ACTIONS}${name}`, headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, undefined, retryIf);
  }

  private send(op: FinopsOperation, req: HttpRequest, accept?: number[], retryIf?: (e: SyncError) => boolean): Promise<HttpResponse> {
    this.count(op);
    return this.http.send(req, { accept, retryIf, onRetry: () => this.count(op) });
  }

  private stream(op: FinopsOperation, url: string, file: string, auth: boolean): Promise<Download> {
    return downloadToFile({
      url, file, clock: this.options.clock, fetch: this.options.fetch, bounds: this.options.bounds, policy: this.options.policy,
      token: auth ? () => this.options.tokens.getToken() : undefined,
      onAttempt: () => this.count(op), onRetry: this.options.onRetry,
    });
  }

  private count(op: FinopsOperation): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
  }
}

/**
 * Whether a failed attempt certainly did not reach F&O, so sending it again cannot import twice:
 * throttled (429) or no connection made. A timeout or a 5xx may have been processed: an enqueue has
 * no idempotency key, so those are not retried (the caller records the batch as unconfirmed).
 */
export function notSent(e: SyncError): boolean {
  return e.kind === "throttled" || e.code === ErrorCodes.ConnectionRefused || e.code === ErrorCodes.ConnectTimeout;
}

/** DOC-RI: DownloadLocation may be `http://host:80/...`; the base URL's scheme, host and port are used. */
export function fixDownloadLocation(location: string, baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw unexpected("dequeue answered a DownloadLocation that is not a URL");
  }
  const base = new URL(baseUrl);
  if (url.hostname.toLowerCase() !== base.hostname.toLowerCase()) {
    throw unexpected(`dequeue answered a DownloadLocation on another host (${url.hostname}) than FINOPS_BASE_URL (${base.hostname}); not sending our token there`);
  }
  url.protocol = base.protocol;
  url.port = base.port;
  return url.toString();
}

function unexpected(message: string): SyncError {
  return new SyncError("permanent", ErrorCodes.FinopsUnexpectedFile, message);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v ? v : undefined;
}

function lowerKeys(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== "object" || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k.toLowerCase(), x]));
}

/** `{"value": …}` of an OData action answer. */
function odataValue(text: string): unknown {
  try {
    return lowerKeys(JSON.parse(text)).value;
  } catch {
    return undefined;
  }
}

/**
 * A string answer: an OData `{"value":"…"}`, a JSON string literal (`"6f1c…"`, the enqueue answer),
 * or bare text. Quotes and whitespace are stripped.
 */
export function stringValue(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    const parsed = JSON.parse(trimmed) as unknown;
    if (typeof parsed === "string") return parsed.trim();
    const value = lowerKeys(parsed).value;
    if (typeof value === "string") return value.trim();
    if (typeof value === "object" && value) return stringValue(JSON.stringify(value));
    return undefined;
  } catch {
    return trimmed.replace(/^"|"$/g, "");
  }
}
