/**
 * The HTTP pipeline: the optional `/<lang>/` segment, blobs (SAS, no token), then for F&O paths
 * the bearer token (401), scripted faults, throttling storms (429), the route, and an entry in the
 * request log. Bodies of downloads are piped, so a 10,000-row export is generated as it is sent.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Authenticator } from "../dataverse/auth.js";
import { faultAnswers, faultRuleResponse, type FaultScript } from "../dataverse/faults.js";
import type { RequestLog } from "../dataverse/requestLog.js";
import { DataverseFault } from "../dataverse/types.js";
import { BLOB_PATH } from "./blobs.js";
import { handleConnector } from "./connector.js";
import type { FoContext, FoRequest } from "./context.js";
import { handleODataAction } from "./odataActions.js";
import { THROTTLED_MESSAGE, type Throttle } from "./throttle.js";
import { FinopsFault, json, type FoResponse } from "./types.js";

export interface PipelineParts {
  ctx: FoContext;
  auth: Authenticator;
  faults: FaultScript;
  throttle: Throttle;
  log: RequestLog;
  admin(req: FoRequest): Promise<FoResponse>;
}

const LANG_SEGMENT = /^\/[a-z]{2}(?:-[a-z]{2})?(?=\/(?:api|data)\/)/i;
const LOGGED_BODY_LIMIT = 16 * 1024;

export function createRequestHandler(parts: PipelineParts): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res, parts).catch((err: unknown) => {
      // Only the message: request headers (tokens) must never reach the console.
      console.error(`finops emulator: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "", message: "An unexpected error occurred." } }));
      else res.destroy();
    });
  };
}

async function handle(raw: IncomingMessage, res: ServerResponse, parts: PipelineParts): Promise<void> {
  const started = Date.now();
  const [body, headers] = [await readBody(raw), flatHeaders(raw)];
  const url = new URL(raw.url ?? "/", parts.ctx.origin);
  const req: FoRequest = { method: (raw.method ?? "GET").toUpperCase(), path: url.pathname.replace(LANG_SEGMENT, ""), url, headers, body, clientId: "" };
  const finish = async (response: FoResponse | undefined) => {
    if (response) await send(res, response);
    const textBody = /json|text/.test(headers["content-type"] ?? "") && body.length <= LOGGED_BODY_LIMIT ? body.toString("utf8") : "";
    parts.log.record({ at: started, method: req.method, path: req.path + redactSas(url.search), headers, body: textBody, status: response?.status ?? 0, userId: req.clientId || undefined, inBatch: false, durationMs: Date.now() - started });
  };

  if (req.path.startsWith("/_emulator/")) return send(res, await parts.admin(req));
  if (req.path.startsWith(BLOB_PATH)) return finish(parts.ctx.blobs.handle(req.method, url, headers, body));
  if (!/^\/(api\/connector|data)\//i.test(req.path)) return finish(json(404, { error: { code: "", message: `No resource at '${req.path.slice(0, 200)}'.` } }));

  try {
    req.clientId = await parts.auth.authenticate(headers.authorization);
  } catch (err) {
    // F&O's 401 carries no body; the challenge names the resource, as the Dataverse emulator's does.
    if (err instanceof DataverseFault) return finish({ status: 401, headers: err.headers, body: "" });
    throw err;
  }

  const rule = parts.faults.take(req.method, req.path + url.search);
  if (rule?.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
  if (rule?.reset) {
    raw.socket.destroy();
    return finish(undefined);
  }
  if (rule && faultAnswers(rule)) {
    const { status, headers: h, body: b } = faultRuleResponse(rule);
    return finish({ status, headers: h, body: b });
  }
  const retryAfter = parts.throttle.take(req.path);
  if (retryAfter !== undefined) return finish(json(429, { error: { code: "", message: THROTTLED_MESSAGE } }, { "retry-after": String(retryAfter) }));

  let response: FoResponse;
  try {
    parts.ctx.executions.tick();
    response = (await handleConnector(req, parts.ctx)) ?? (await handleODataAction(req, parts.ctx)) ?? json(404, { error: { code: "", message: `No resource at '${req.path.slice(0, 200)}'.` } });
  } catch (err) {
    if (!(err instanceof FinopsFault)) throw err;
    response = json(err.status, { error: { code: err.code, message: err.message } }, err.headers);
  }
  if (rule?.lostAnswer) {
    // The work is done; the client never learns it (a lost answer).
    raw.socket.destroy();
    return finish(undefined);
  }
  return finish(response);
}

async function send(res: ServerResponse, response: FoResponse): Promise<void> {
  const headers = { "x-ms-request-id": randomUUID(), ...response.headers };
  const noBody = response.status === 204 || response.status === 304;
  const body = response.body;
  if (noBody || body === undefined || typeof body === "string" || Buffer.isBuffer(body)) {
    res.writeHead(response.status, headers);
    res.end(noBody ? undefined : body ?? "");
    return;
  }
  res.writeHead(response.status, headers);
  try {
    await pipeline(body, res);
  } catch {
    res.destroy(); // the client went away mid-download; nothing to answer
  }
}

/** A SAS signature is a credential: the log keeps that there was one, not its value. */
function redactSas(search: string): string {
  return search.replace(/([?&]sig=)[^&]*/i, "$1<redacted>");
}

function flatHeaders(raw: IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(raw.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k.toLowerCase(), Array.isArray(v) ? v.join(", ") : v]])));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
