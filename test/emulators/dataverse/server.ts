import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { handleAdmin, type AdminParts } from "./adminRoutes.js";
import type { Authenticator } from "./auth.js";
import { countBatchOperations, handleBatch } from "./batch.js";
import { faultAnswers, faultRuleResponse, type FaultScript } from "./faults.js";
import type { RequestLog } from "./requestLog.js";
import { relativePath, SERVICE_PATH } from "./router.js";
import type { Routed, ServiceProtection } from "./throttle.js";
import { DataverseFault, faultResponse, type EmulatorContext, type EmuRequest, type EmuResponse } from "./types.js";
import { Errors } from "./dataverseErrors.js";

export interface PipelineParts {
  ctx: EmulatorContext;
  auth: Authenticator;
  /** Maps an authenticated client id to its application user's systemuserid. */
  userFor(clientId: string): string;
  faults: FaultScript;
  log: RequestLog;
  throttle: ServiceProtection;
  admin: AdminParts;
}

const BulkPath = /(^|\/)[^/]+\/Microsoft\.Dynamics\.CRM\.(Create|Update|Upsert|Delete)Multiple$/;

/**
 * The HTTP pipeline in Dataverse's order: auth, scripted faults, service protection, the request
 * itself, then the rate-limit headers on every response and an entry in the request log.
 */
export function createRequestHandler(parts: PipelineParts): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res, parts).catch((err: unknown) => {
      // Only the error's message: request headers (tokens) must never reach the console.
      console.error(`dataverse emulator: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(res, { status: 500, headers: {}, body: JSON.stringify({ error: { code: "0x80040216", message: "An unexpected error occurred." } }) });
      else res.destroy();
    });
  };
}

async function handle(raw: IncomingMessage, res: ServerResponse, parts: PipelineParts): Promise<void> {
  const started = Date.now();
  const body = await readBody(raw);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  const method = (raw.method ?? "GET").toUpperCase();
  const req: EmuRequest = { method, url: new URL(raw.url ?? "/", parts.ctx.origin), headers, body, userId: "" };
  if (req.url.pathname.startsWith("/_emulator/")) return send(res, await handleAdmin(req, parts.admin));
  // The load balancer's choice: the server the ARRAffinity cookie names, else the least busy one;
  // the request is that server's until it is answered.
  const routed = parts.throttle.route(headers.cookie);
  try {
    await serve(raw, res, parts, req, routed, started);
  } finally {
    routed.leave();
  }
}

async function serve(raw: IncomingMessage, res: ServerResponse, parts: PipelineParts, req: EmuRequest, routed: Routed, started: number): Promise<void> {
  const { method, headers, body } = req;
  const finish = (response: EmuResponse | undefined) => {
    if (response) send(res, response, routed.setCookie);
    parts.log.record({
      at: started, method, path: req.url.pathname + req.url.search, headers: redact(headers), body,
      status: response?.status ?? 0, userId: req.userId || undefined, inBatch: false, durationMs: Date.now() - started, server: routed.server,
    });
  };

  if (relativePath(req.url) === undefined) return finish(faultResponse(Errors.segment(req.url.pathname)));

  try {
    req.userId = parts.userFor(await parts.auth.authenticate(headers.authorization));
  } catch (err) {
    if (err instanceof DataverseFault) return finish(faultResponse(err));
    throw err;
  }

  const relPath = req.url.pathname.slice(SERVICE_PATH.length) + req.url.search;
  const rule = parts.faults.take(method, relPath);
  if (rule) {
    if (rule.delayMs) await sleep(rule.delayMs);
    if (rule.reset) {
      raw.socket.destroy();
      return finish(undefined);
    }
    if (faultAnswers(rule)) return finish(withThrottleHeaders(faultRuleResponse(rule), parts, req.userId, routed.server));
  }

  const isBatch = relPath.split("?")[0] === "$batch";
  const isBulk = method === "POST" && BulkPath.test(relPath.split("?")[0]);
  const admission = parts.throttle.admit({
    userId: req.userId,
    kind: isBatch ? "batch" : isBulk ? "bulk" : "single",
    operations: isBatch ? Math.max(1, countBatchOperations(req)) : isBulk ? targetCount(body) : 1,
    method,
    server: routed.server,
  });
  if (!admission.admitted) return finish(admission.response);
  let response: EmuResponse;
  try {
    // The request takes its latency plus its execution time, as a real server's would: execution
    // is spent (and charged while it is), not only counted (the concurrency limit and clients'
    // duration-based estimates depend on it).
    await admission.run();
    response = isBatch
      ? method === "POST" ? await handleBatch(req, parts.ctx) : faultResponse(Errors.method(method))
      : await parts.ctx.dispatch(req);
  } finally {
    admission.release();
  }
  if (rule?.lostAnswer) {
    raw.socket.destroy();
    return finish(undefined);
  }
  finish(withThrottleHeaders(response, parts, req.userId, routed.server));
}

function withThrottleHeaders(response: EmuResponse, parts: PipelineParts, userId: string, server: number): EmuResponse {
  return { ...response, headers: { ...response.headers, ...parts.throttle.headers(userId, server) } };
}

function send(res: ServerResponse, response: EmuResponse, setCookie?: string[]): void {
  const headers: Record<string, string | string[]> = { "odata-version": "4.0", "x-ms-service-request-id": randomUUID(), ...response.headers };
  if (setCookie) headers["set-cookie"] = setCookie;
  const noBody = response.status === 204 || response.status === 304;
  res.writeHead(response.status, headers);
  res.end(noBody ? undefined : response.body ?? "");
}

export function redact(headers: Record<string, string>): Record<string, string> {
  const out = { ...headers };
  if (out.authorization) out.authorization = out.authorization.replace(/^(\w+)\s+.*$/, "$1 [redacted]");
  return out;
}

function targetCount(body: string): number {
  try {
    const targets = (JSON.parse(body) as { Targets?: unknown[] }).Targets;
    return Array.isArray(targets) ? Math.max(1, targets.length) : 1;
  } catch {
    return 1;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
