import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import functions, { type HttpFunctionOptions, type HttpResponseInit, type LogHandler } from "@azure/functions";
import { errorMessage } from "../errors.js";
import type { Logger } from "../ports.js";

// The package is CommonJS and these classes are only reachable through its default export in ESM.
const { HttpRequest, HttpResponse, InvocationContext } = functions;

export interface HttpRoute {
  name: string;
  options: HttpFunctionOptions;
}

/**
 * Serves the registered HTTP functions as the host would: `/api/<route>`, method check (405),
 * body size limit (413), real `HttpRequest` / `InvocationContext`, and the handler's response
 * (an `HttpResponseInit` or an `HttpResponse`) written back.
 */
export async function serveHttp(routes: HttpRoute[], logger: Logger, logTo: (name: string) => LogHandler, req: IncomingMessage, res: ServerResponse, maxBody: number): Promise<void> {
  try {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
    const method = (req.method ?? "GET").toUpperCase();
    if (!url.pathname.startsWith("/api/")) return await send(res, notFound(method, url.pathname));
    const found = findRoute(routes, method, url.pathname.slice("/api/".length));
    if (!found.route) {
      return await send(res, found.methodMismatch
        ? { status: 405, jsonBody: { error: { code: "METHOD_NOT_ALLOWED", message: `${method} is not allowed on ${url.pathname}` } } }
        : notFound(method, url.pathname));
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBody) return await send(res, tooLarge(maxBody), true);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return await send(res, tooLarge(maxBody), true);
      chunks.push(chunk as Buffer);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const request = new HttpRequest({
      method, url: url.toString(), headers, params: found.params,
      body: chunks.length ? { bytes: new Uint8Array(Buffer.concat(chunks)) } : undefined,
    });
    const { name, options } = found.route;
    const context = new InvocationContext({ functionName: name, logHandler: logTo(name) });
    const response = await options.handler(request, context);
    await send(res, response ?? { status: 204 });
  } catch (e) {
    logger.error("request failed", { error: errorMessage(e) });
    if (!res.headersSent) await send(res, { status: 500, jsonBody: { error: { code: "INTERNAL", message: "the request failed; see the logs" } } });
    else res.destroy();
  }
}

const notFound = (method: string, path: string): HttpResponseInit =>
  ({ status: 404, jsonBody: { error: { code: "NOT_FOUND", message: `no function serves ${method} ${path}` } } });
const tooLarge = (max: number): HttpResponseInit =>
  ({ status: 413, jsonBody: { error: { code: "BODY_TOO_LARGE", message: `request body over ${max} bytes` } } });

/** Literal segments beat parameters (as in ASP.NET routing), so `sync/runs` never reads as `sync/{x}`. */
function findRoute(routes: HttpRoute[], method: string, path: string): { route?: HttpRoute; params: Record<string, string>; methodMismatch: boolean } {
  let best: { route: HttpRoute; params: Record<string, string>; literals: number } | undefined;
  let methodMismatch = false;
  for (const route of routes) {
    const m = matchRoute(route.options.route ?? route.name, path);
    if (!m) continue;
    if (!(route.options.methods ?? ["GET", "POST"]).map((x) => x.toUpperCase()).includes(method)) {
      methodMismatch = true;
      continue;
    }
    if (!best || m.literals > best.literals) best = { route, params: m.params, literals: m.literals };
  }
  return best ? { route: best.route, params: best.params, methodMismatch } : { params: {}, methodMismatch };
}

export function matchRoute(template: string, path: string): { params: Record<string, string>; literals: number } | undefined {
  const t = template.split("/").filter(Boolean);
  const p = path.split("/").filter(Boolean);
  const optional = (seg: string) => /^\{[^}]+\?\}$/.test(seg);
  if (p.length > t.length || p.length < t.filter((seg) => !optional(seg)).length) return undefined;
  const params: Record<string, string> = {};
  let literals = 0;
  for (let i = 0; i < t.length; i++) {
    const param = /^\{(\w+)(?::[^}?]+)?\??\}$/.exec(t[i]);
    if (i >= p.length) {
      if (!param || !optional(t[i])) return undefined;
      continue;
    }
    let segment: string;
    try {
      segment = decodeURIComponent(p[i]);
    } catch {
      return undefined;
    }
    if (param) params[param[1]] = segment;
    else if (t[i].toLowerCase() === segment.toLowerCase()) literals += 1;
    else return undefined;
  }
  return { params, literals };
}

async function send(res: ServerResponse, response: HttpResponseInit | InstanceType<typeof HttpResponse>, close = false): Promise<void> {
  let status: number;
  let headers: Headers;
  let body: Buffer | undefined;
  if (response instanceof HttpResponse) {
    status = response.status;
    headers = new Headers(response.headers);
    const bytes = Buffer.from(await response.arrayBuffer());
    body = bytes.length ? bytes : undefined;
  } else {
    status = response.status ?? 200;
    headers = new Headers(response.headers as ConstructorParameters<typeof Headers>[0]);
    if (response.jsonBody !== undefined) {
      body = Buffer.from(JSON.stringify(response.jsonBody));
      if (!headers.has("content-type")) headers.set("content-type", "application/json; charset=utf-8");
    } else if (typeof response.body === "string") body = Buffer.from(response.body);
    else if (response.body instanceof Uint8Array) body = Buffer.from(response.body);
    else if (response.body instanceof ReadableStream) {
      // A streamed answer (the CSV export) is piped as it is read, never held whole in memory.
      res.writeHead(status, Object.fromEntries(headers));
      await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), res).catch(() => res.destroy());
      return;
    }
  }
  // A refused upload may still be streaming in: closing stops the client from sending the rest.
  if (close) headers.set("connection", "close");
  res.writeHead(status, Object.fromEntries(headers));
  res.end(body);
}
