/**
 * An App Sync API server to copy: Express, in-memory records (store.ts shows where your database
 * goes), the field rules of fields.ts. `createAppSyncServer` gives the Express app to mount in your
 * own server; `startAppSyncServer` listens on its own.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { checkData, referenceProblem, type EntityDefinitions } from "./fields.js";
import { appSyncRouter } from "./routes.js";
import { MemoryStore, type RecordStore, type SeedRecord } from "./store.js";

export interface AppSyncServerOptions {
  /** The key the sync sends as `Authorization: Bearer <APP_API_KEY>`. */
  apiKey: string;
  /** The entities (`app.entity` in the mapping file) and their fields. */
  entities: EntityDefinitions;
  /** Your database adapter; an in-memory store by default. */
  store?: RecordStore;
  /** Records the in-memory store starts with (ignored when `store` is given). */
  seed?: Record<string, SeedRecord[]>;
  /** Clock of the in-memory store (tests pass a fixed one). */
  now?: () => number;
  /** A path prefix such as `/v1`; APP_BASE_URL then ends with it. */
  basePath?: string;
}

export function createAppSyncServer(options: AppSyncServerOptions): express.Express {
  const problems = options.seed ? seedProblems(options.entities, options.seed) : [];
  if (problems.length) throw new Error(`the seed records are not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const app = express();
  app.disable("x-powered-by");
  const store = options.store ?? new MemoryStore(options.now, options.seed);
  app.use(normalizeBasePath(options.basePath) || "/", appSyncRouter({ apiKey: options.apiKey, entities: options.entities, store }));
  app.use((req, res) => {
    res.status(404).json({ error: { code: "NOT_FOUND", message: `No route for ${req.method} ${req.path}` } });
  });
  return app;
}

export interface RunningServer {
  /** `http://<host>:<port><basePath>`: the APP_BASE_URL to give the sync. */
  baseUrl: string;
  stop(): Promise<void>;
}

export async function startAppSyncServer(options: AppSyncServerOptions & { port?: number; host?: string }): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer(createAppSyncServer(options));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    baseUrl: `http://${shownHost}:${port}${normalizeBasePath(options.basePath)}`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function normalizeBasePath(basePath: string | undefined): string {
  const trimmed = (basePath ?? "").replace(/^\/+|\/+$/g, "");
  return trimmed ? `/${trimmed}` : "";
}

/** Every problem with the seed, each naming the entity and record: a bad seed never starts serving. */
function seedProblems(entities: EntityDefinitions, seed: Record<string, SeedRecord[]>): string[] {
  const problems: string[] = [];
  const ids = new Map(Object.entries(seed).map(([entity, records]) => [entity, new Set((records ?? []).map((r) => r?.id))]));
  for (const [entity, records] of Object.entries(seed)) {
    if (!Object.hasOwn(entities, entity)) {
      problems.push(`${entity}: not an entity this server defines (${Object.keys(entities).join(", ")})`);
      continue;
    }
    if (!Array.isArray(records)) {
      problems.push(`${entity}: expected an array of {"id", "data"} records`);
      continue;
    }
    records.forEach((r, i) => {
      const where = `${entity}[${i}]`;
      if (typeof r?.id !== "string" || r.id === "") return void problems.push(`${where}: id must be a non-empty string`);
      if (typeof r.data !== "object" || r.data === null || Array.isArray(r.data)) return void problems.push(`${where} (${r.id}): data must be an object`);
      const { problem, references } = checkData(entities, entity, r.data);
      const missing = references.find((ref) => !ids.get(ref.entity)?.has(ref.id));
      if (problem || missing) problems.push(`${where} (${r.id}): ${problem ?? referenceProblem(missing!)}`);
    });
  }
  return problems;
}
