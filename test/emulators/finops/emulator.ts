/**
 * `startFinopsEmulator`: the F&O emulator in process (README.md). One HTTP server on 127.0.0.1;
 * emulator time is the given clock (or real time) plus what `advance()` added.
 */
import { createServer } from "node:http";
import { Authenticator } from "../dataverse/auth.js";
import { FaultScript } from "../dataverse/faults.js";
import { RequestLog } from "../dataverse/requestLog.js";
import { handleAdmin } from "./adminRoutes.js";
import { BlobStore } from "./blobs.js";
import { DEFAULT_CHOICES, type FoContext } from "./context.js";
import { Executions } from "./executions.js";
import { Queues } from "./queues.js";
import { createRequestHandler } from "./server.js";
import { Throttle, type ThrottleStorm } from "./throttle.js";
import type { FinopsEmulatorOptions, FinopsJob, FinopsProject, MessageInfo, RecordFailure, Row } from "./types.js";

export const DEFAULT_REDELIVERY_MS = 30 * 60 * 1000;
export const DEFAULT_BATCH_DELAY_MS = 1000;

export interface FinopsEmulator {
  /** `http://127.0.0.1:<port>`: FINOPS_BASE_URL, the token audience (scope `<url>/.default`). */
  url: string;
  close(): Promise<void>;
  defineJob(job: FinopsJob): void;
  /** Queues an export message of the job holding these rows; returns its message id. */
  seedExport(activityId: string, rows: Row[]): string;
  /** A data project for the package API (ImportFromPackage checks its entity; ExportToPackage exports its rows). */
  defineProject(project: FinopsProject): void;
  /** Every row applied to the entity, in arrival order (a row imported twice appears twice). */
  importedRows(entity: string): Row[];
  /** Rows for which the predicate returns a text fail with that text (execution errors, error keys). */
  failRecords(entity: string, predicate: RecordFailure): void;
  /** 429 storms with integer Retry-After: the next `requests`, or a `fraction` of them, optionally by path. */
  throttle(opts: ThrottleStorm): void;
  clearThrottle(): void;
  /** Moves emulator time on (the batch, redelivery, SAS expiry). */
  advance(ms: number): void;
  now(): number;
  requestLog(): { method: string; path: string; status: number; clientId?: string }[];
  messages(): MessageInfo[];
  /** Scripted faults (the Dataverse emulator's rules): status, delay, reset, lostAnswer; paths as `/api/connector/ack/…`. */
  faults: FaultScript;
}

export async function startFinopsEmulator(opts: FinopsEmulatorOptions): Promise<FinopsEmulator> {
  let offset = 0;
  const now = () => (opts.clock?.now() ?? Date.now()) + offset;
  const stepMs = opts.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS;
  const choices = { ...DEFAULT_CHOICES, ...definedOnly(opts) };

  const server = createServer();
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;

  const executions = new Executions(now, stepMs);
  const queues = new Queues(executions, now, stepMs, opts.redeliveryMs ?? DEFAULT_REDELIVERY_MS, choices.freshCorrelationIdOnRedelivery);
  const ctx: FoContext = {
    origin: url, now, choices, allowedAppIds: opts.allowedAppIds, httpDownloadLocation: opts.httpDownloadLocation ?? false,
    queues, executions, blobs: new BlobStore(url, now, choices.sasLifetimeMs), projects: new Map(),
  };
  const faults = new FaultScript();
  const throttle = new Throttle();
  const log = new RequestLog();

  const emulator: FinopsEmulator = {
    url, faults,
    defineJob: (job) => queues.defineJob(job),
    seedExport(activityId, rows) {
      const job = queues.job(activityId);
      if (!job || job.direction !== "export") throw new Error(`seedExport: no export job has the activity id '${activityId}' (defineJob first)`);
      return queues.seedExport(job, rows).messageId;
    },
    defineProject(project) {
      ctx.projects.set(project.name.toLowerCase(), { ...project, rows: [...(project.rows ?? [])] });
      executions.setKeyFields(project.entity, project.keyFields);
    },
    importedRows: (entity) => executions.importedRows(entity),
    failRecords: (entity, predicate) => executions.failRecords(entity, predicate),
    throttle: (storm) => throttle.add(storm),
    clearThrottle: () => throttle.clear(),
    advance(ms) {
      offset += ms;
      executions.tick();
    },
    now,
    requestLog: () => log.entries().map((e) => ({ method: e.method, path: e.path, status: e.status, clientId: e.userId })),
    messages: () => queues.list(),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const auth = new Authenticator(opts.tokenIssuer, url, Date.now);
  server.on("request", createRequestHandler({ ctx, auth, faults, throttle, log, admin: (req) => handleAdmin(req, emulator) }));
  return emulator;
}

function definedOnly(opts: FinopsEmulatorOptions): Partial<typeof DEFAULT_CHOICES> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(DEFAULT_CHOICES)) {
    const value = (opts as unknown as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as Partial<typeof DEFAULT_CHOICES>;
}
