import { createServer, type Server } from "node:http";
import functions, { type LogHandler, type Timer } from "@azure/functions";
import { Cron } from "croner";
import { ErrorCodes, SyncError, errorMessage } from "../errors.js";
import { FunctionNames, Queues } from "../names.js";
import type { QueueMessage, WorkQueue } from "../ports.js";
import { serveHttp, type HttpRoute } from "./localHttp.js";
import { ContinuousPump, HostQueueSettings, type PumpQueue } from "./queuePump.js";
import { setServices, type Services } from "./services.js";

// The package is CommonJS and this class is only reachable through its default export in ESM.
const { InvocationContext } = functions;

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

/** The shortest wait between polls of a queue (after a poll that found work). */
const MIN_POLL_MS = 50;

/** How long stop() lets in-flight requests finish before cutting their connections. */
const STOP_GRACE_MS = 5_000;

/**
 * Runs the app's functions without the Azure Functions host (whose Core Tools cannot be installed
 * everywhere): the same registered handlers, called with real `HttpRequest` / `InvocationContext`
 * objects, storage-queue triggers polled with host.json's semantics, and the timer.
 */
export async function startLocalRunner(s: Services, options: LocalRunnerOptions): Promise<LocalRunner> {
  process.env.D365_SYNC_LOCAL_RUNNER = "1";
  const { definitions } = await import("../../functions/all.js");
  const logTo = (functionName: string): LogHandler => (level, ...args) => {
    const message = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
    if (level === "error" || level === "critical") s.logger.error(message, { functionName });
    else if (level === "warning") s.logger.warn(message, { functionName });
    else s.logger.debug(message, { functionName });
  };

  // Listen first: a port in use must fail start-up before any queue polling or timer begins.
  const routes: HttpRoute[] = definitions.flatMap((d) => (d.kind === "http" ? [{ name: d.name, options: d.options }] : []));
  const server: Server = createServer((req, res) => void serveHttp(routes, s.logger, logTo, req, res, options.maxBodyBytes ?? 104_857_600));
  await listen(server, options.host, options.port);
  setServices(s);
  const address = server.address() as { port: number };
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${address.port}`;

  const pumps = queuePumps(s, definitions, logTo);
  const queuesByName = new Map(pumps.map((p) => [p.queue.name, p.queue]));
  const toPoison = async (queue: string, message: QueueMessage<unknown>, error: string) => {
    s.logger.warn(`Message has reached MaxDequeueCount of ${HostQueueSettings.maxDequeueCount}. Moving message to queue '${queue}-poison'.`, { error });
    const target = queuesByName.get(`${queue}-poison`);
    if (!target) throw new SyncError("permanent", ErrorCodes.AttemptsExhausted, `no poison queue for ${queue}`);
    await target.send(message.body);
  };

  // Each queue is polled as the host polls it: lanes up to the host's batchSize + newBatchThreshold
  // (HOST_QUEUE_CONCURRENCY, 12 per queue with host.json) while messages come, each
  // taking the next message as soon as its last one is done; a queue found empty backs off up to `pollMs`.
  const pump = new ContinuousPump(pumps, toPoison);
  const report = () => {
    try {
      pump.rethrow();
    } catch (e) {
      s.logger.error("queue polling failed", { error: errorMessage(e) });
    }
  };
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = async () => {
    while (!stopped) {
      pump.poll(MIN_POLL_MS, options.pollMs ?? 500);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, MIN_POLL_MS);
      });
      report();
    }
    pump.halt();
    await pump.idle().catch((e: unknown) => s.logger.error("queue polling failed", { error: errorMessage(e) }));
  };
  const loopDone = loop();

  // The delta timer (the weekly reconcile timer is not fired locally; `npm run sync -- --reconcile` runs one).
  const timerDef = definitions.find((d) => d.kind === "timer" && d.name === FunctionNames.timer);
  const schedule = options.schedule ?? (timerDef?.kind === "timer" ? String(timerDef.options.schedule) : "");
  const cron = timerDef?.kind === "timer" && schedule
    ? new Cron(schedule, { timezone: "UTC", protect: true }, async () => {
        const t: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: new Date().toISOString() } };
        try {
          await timerDef.options.handler(t, new InvocationContext({ functionName: timerDef.name, logHandler: logTo(timerDef.name) }));
        } catch (e) {
          s.logger.error("scheduled sync failed to start", { error: errorMessage(e) });
        }
      })
    : undefined;

  // F&O jobs with a schedule of their own (functions/finopsJobs.ts `finops-<job>` timers) fire on it, as in Azure.
  const jobCrons = definitions.flatMap((d) => d.kind === "timer" && d.name.startsWith("finops-") ? [new Cron(String(d.options.schedule), { timezone: "UTC", protect: true }, async () => {
    const t: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: new Date().toISOString() } };
    await Promise.resolve(d.options.handler(t, new InvocationContext({ functionName: d.name, logHandler: logTo(d.name) })))
      .catch((e: unknown) => s.logger.error(`${d.name} failed to start`, { error: errorMessage(e) }));
  })] : []);

  let stopping: Promise<void> | undefined;
  return {
    url,
    async idle() {
      for (;;) {
        pump.kick();
        await pump.idle();
        const counts = await Promise.all(pumps.map((p) => p.queue.approximateCount()));
        if (counts.every((c) => c === 0)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        cron?.stop();
        for (const c of jobCrons) c.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
        await closed;
        clearTimeout(force);
        wake?.();
        await loopDone;
        setServices(undefined);
      })();
      return stopping;
    },
  };
}

type Definitions = Awaited<typeof import("../../functions/all.js")>["definitions"];

/** One pump per storage-queue function, on the services' queue of that name (poison queues included). */
function queuePumps(s: Services, definitions: Definitions, logTo: (name: string) => LogHandler): PumpQueue[] {
  const prefix = s.queues.runs.name.slice(0, s.queues.runs.name.length - Queues.runs.length);
  const byName = new Map<string, WorkQueue<unknown>>();
  for (const q of Object.values(s.queues) as (WorkQueue<unknown> & { poison?: () => WorkQueue<unknown> })[]) {
    byName.set(q.name, q);
    if (q.poison) byName.set(q.poison().name, q.poison());
  }
  const pumps: PumpQueue[] = [];
  for (const d of definitions) {
    if (d.kind !== "storageQueue") continue;
    const queue = byName.get(`${prefix}${d.options.queueName}`);
    if (!queue) {
      s.logger.warn(`function ${d.name} listens on queue ${d.options.queueName}, which the services do not provide; it will not run`);
      continue;
    }
    pumps.push({
      queue,
      handler: async (body, meta) => {
        const ctx = new InvocationContext({ functionName: d.name, triggerMetadata: { dequeueCount: meta.dequeueCount }, logHandler: logTo(d.name) });
        await d.options.handler(body, ctx);
      },
    });
  }
  return pumps;
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE") {
        reject(new SyncError("validation", ErrorCodes.InvalidSetting, `port ${port} on ${host} is already in use (another d365-sync or Functions host?); set PORT to a free port`, { cause: e }));
      } else if (e.code === "EACCES") {
        reject(new SyncError("validation", ErrorCodes.InvalidSetting, `not allowed to listen on port ${port} on ${host}; set PORT to a port above 1024`, { cause: e }));
      } else if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND") {
        reject(new SyncError("validation", ErrorCodes.InvalidSetting, `cannot listen on ${host}: not an address of this machine; set HOST to 127.0.0.1 or another local address`, { cause: e }));
      } else reject(e);
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
