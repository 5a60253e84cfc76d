import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import functions, { type HttpResponseInit, type Timer } from "@azure/functions";
import { Cron } from "croner";
import { errorMessage } from "../errors.js";
import type { QueueMessage, WorkQueue } from "../ports.js";
import { pumpOnce, type PumpQueue } from "./queuePump.js";
import { setServices, type Services } from "./services.js";

// The package is CommonJS and these classes are only reachable through its default export in ESM.
const { HttpRequest, InvocationContext } = functions;

export interface LocalRunner {
  url: string;
  stop(): Promise<void>;
  /** Runs the queue handlers until every queue is empty (tests and the first sync use it). */
  idle(): Promise<void>;
}

export interface LocalRunnerOptions {
  host: string;
  port: number;
  /** Overrides the mapping file's schedule (locally: short). Empty string = no timer. */
  schedule?: string;
  pollMs?: number;
  /** Largest accepted request body, as the Functions host's FUNCTIONS_REQUEST_BODY_SIZE_LIMIT. */
  maxBodyBytes?: number;
}

/**
 * Runs the app's functions without the Azure Functions host (whose Core Tools cannot be installed
 * everywhere): the same registered handlers, called with real `HttpRequest` / `InvocationContext`
 * objects, storage-queue triggers polled with host.json's semantics, and the timer.
 */
export async function startLocalRunner(s: Services, options: LocalRunnerOptions): Promise<LocalRunner> {
  process.env.D365_SYNC_LOCAL_RUNNER = "1";
  setServices(s);
  const { definitions } = await import("../../functions/all.js");

  const queuesByName = new Map<string, WorkQueue<unknown>>();
  for (const q of Object.values(s.queues) as (WorkQueue<unknown> & { poison?: () => WorkQueue<unknown> })[]) {
    queuesByName.set(q.name, q);
    if (q.poison) queuesByName.set(q.poison().name, q.poison());
  }
  const pumps: PumpQueue[] = [];
  for (const d of definitions) {
    if (d.kind !== "storageQueue") continue;
    const queue = [...queuesByName.values()].find((q) => q.name.endsWith(d.options.queueName));
    if (!queue) continue;
    pumps.push({
      queue,
      handler: async (body, meta) => {
        const ctx = new InvocationContext({ functionName: d.name, triggerMetadata: { dequeueCount: meta.dequeueCount }, logHandler: logTo(s, d.name) });
        await d.options.handler(body, ctx);
      },
    });
  }
  const toPoison = async (queue: string, message: QueueMessage<unknown>, error: string) => {
    s.logger.warn(`Message has reached MaxDequeueCount of 5. Moving message to queue '${queue}-poison'.`, { error });
    const target = queuesByName.get(`${queue}-poison`);
    if (target) await target.send(message.body);
  };

  let stopped = false;
  let pumping: Promise<void> = Promise.resolve();
  const pumpUntilEmpty = async () => {
    while (!stopped && (await pumpOnce(pumps, toPoison)) > 0) { /* keep going while there is work */ }
  };
  const loop = async () => {
    while (!stopped) {
      try {
        pumping = pumpUntilEmpty();
        await pumping;
      } catch (e) {
        s.logger.error("queue polling failed", { error: errorMessage(e) });
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
  };
  const loopDone = loop();

  const timerDef = definitions.find((d) => d.kind === "timer");
  const schedule = options.schedule ?? (timerDef?.kind === "timer" ? timerDef.options.schedule : "");
  const cron = timerDef?.kind === "timer" && schedule
    ? new Cron(schedule, { timezone: "UTC", protect: true }, async () => {
        const t: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: new Date().toISOString() } };
        try {
          await timerDef.options.handler(t, new InvocationContext({ functionName: timerDef.name, logHandler: logTo(s, timerDef.name) }));
        } catch (e) {
          s.logger.error("scheduled sync failed to start", { error: errorMessage(e) });
        }
      })
    : undefined;

  const server: Server = createServer((req, res) => void serve(definitions, s, req, res, options.maxBodyBytes ?? 104_857_600));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as { port: number };
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${address.port}`;

  return {
    url,
    async idle() {
      for (;;) {
        await pumping;
        await pumpUntilEmpty();
        const counts = await Promise.all(pumps.map((p) => p.queue.approximateCount()));
        if (counts.every((c) => c === 0)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      stopped = true;
      cron?.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      await loopDone;
      setServices(undefined);
    },
  };
}

type Definitions = Awaited<typeof import("../../functions/all.js")>["definitions"];

function logTo(s: Services, functionName: string) {
  return (level: string, ...args: unknown[]) => {
    const message = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
    if (level === "error") s.logger.error(message, { functionName });
    else if (level === "warning") s.logger.warn(message, { functionName });
    else s.logger.debug(message, { functionName });
  };
}

function matchRoute(template: string, path: string): Record<string, string> | undefined {
  const t = template.split("/").filter(Boolean);
  const p = path.split("/").filter(Boolean);
  if (t.length !== p.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const m = /^\{(\w+)(?::\w+)?\??\}$/.exec(t[i]);
    if (m) params[m[1]] = decodeURIComponent(p[i]);
    else if (t[i].toLowerCase() !== p[i].toLowerCase()) return undefined;
  }
  return params;
}

async function serve(definitions: Definitions, s: Services, req: IncomingMessage, res: ServerResponse, maxBody: number): Promise<void> {
  const send = (init: HttpResponseInit) => {
    const headers = new Headers(init.headers as Record<string, string> | undefined);
    let body: string | undefined;
    if (init.jsonBody !== undefined) {
      body = JSON.stringify(init.jsonBody);
      if (!headers.has("content-type")) headers.set("content-type", "application/json; charset=utf-8");
    } else if (typeof init.body === "string") body = init.body;
    res.writeHead(init.status ?? 200, Object.fromEntries(headers));
    res.end(body);
  };
  try {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
    const path = url.pathname.replace(/^\/api\/?/, "");
    let match: { def: Definitions[number]; params: Record<string, string> } | undefined;
    let methodMismatch = false;
    for (const def of definitions) {
      if (def.kind !== "http") continue;
      const params = matchRoute(def.options.route ?? def.name, path);
      if (!params || !url.pathname.startsWith("/api/")) continue;
      if (!(def.options.methods ?? ["GET", "POST"]).includes((req.method ?? "GET") as never)) { methodMismatch = true; continue; }
      match = { def, params };
      break;
    }
    if (!match) return send({ status: methodMismatch ? 405 : 404, jsonBody: { error: { code: methodMismatch ? "METHOD_NOT_ALLOWED" : "NOT_FOUND", message: `no function serves ${req.method} ${url.pathname}` } } });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return send({ status: 413, jsonBody: { error: { code: "BODY_TOO_LARGE", message: `request body over ${maxBody} bytes` } } });
      chunks.push(chunk as Buffer);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
    const request = new HttpRequest({
      method: req.method ?? "GET", url: url.toString(), headers, params: match.params,
      body: chunks.length ? { bytes: new Uint8Array(Buffer.concat(chunks)) } : undefined,
    });
    const def = match.def;
    if (def.kind !== "http") return;
    const response = await def.options.handler(request, new InvocationContext({ functionName: def.name, logHandler: logTo(s, def.name) }));
    send((response ?? { status: 204 }) as HttpResponseInit);
  } catch (e) {
    s.logger.error("request failed", { error: errorMessage(e) });
    send({ status: 500, jsonBody: { error: { code: "INTERNAL", message: "the request failed; see the logs" } } });
  }
}
