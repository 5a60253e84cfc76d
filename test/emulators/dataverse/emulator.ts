import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { actAs, listUsers } from "./actAs.js";
import { applicationUserId, Authenticator, type EmulatorAuthOptions } from "./auth.js";
import { ChangeTracking, DEFAULT_CHANGE_TRACKING_RETENTION_MS } from "./changeTracking.js";
import type { CoreParts } from "./coreParts.js";
import { Entities } from "./entities.js";
import { Errors } from "./dataverseErrors.js";
import { FaultScript } from "./faults.js";
import { formatRow } from "./odata/format.js";
import { PageCursors } from "./odata/paging.js";
import { RequestLog, type RequestLogOptions } from "./requestLog.js";
import { route } from "./router.js";
import { loadSchema, type Schema } from "./schema.js";
import { createRequestHandler, redact } from "./server.js";
import { Store } from "./store.js";
import { ServiceProtection, type ThrottleOptionsInput } from "./throttle.js";
import type { EmulatorContext } from "./types.js";
import { WebhookDispatcher } from "./webhooks.js";

export const DEMO_SCHEMA_PATH = fileURLToPath(new URL("./demo-schema.json", import.meta.url));
/** The platform's own user: seeds and application-user records are written by it. */
export const SYSTEM_USER_ID = "5a0e0f2c-6a39-4c3e-8d4b-000000000001";
const DEFAULT_BUSINESS_UNIT_ID = "7d1c5f7e-2b4a-4f0e-9a61-000000000001";

export interface DataverseEmulatorOptions {
  /** A schema object or the path of a schema JSON file (see demo-schema.json). */
  schema: object | string;
  port?: number;
  host?: "127.0.0.1";
  auth: EmulatorAuthOptions;
  /** Delta tokens older than this fail with 0x80044352 (default 7 days, like ExpireChangeTrackingInDays). */
  changeTrackingRetentionMs?: number;
  throttle?: ThrottleOptionsInput;
  organizationName?: string;
  /** Emulator clock for row timestamps and token ages (tests move it instead of sleeping). */
  now?: () => number;
  webhookTimeoutMs?: number;
  /** The request log's limits (see RequestLog). */
  log?: RequestLogOptions;
  /**
   * Client ids that have no application user in this org (a customer that consented but did not
   * create it): their valid tokens get 403 0x80072560. Every other client gets one on first sight.
   */
  withoutApplicationUser?: string[];
}

export interface DataverseEmulator {
  /** e.g. http://127.0.0.1:1234 — also the token audience and the `<instance>/.default` resource. */
  origin: string;
  serviceRoot: string;
  faults: FaultScript;
  log: RequestLog;
  webhooks: WebhookDispatcher;
  throttle: ServiceProtection;
  ctx: EmulatorContext;
  schema: Schema;
  /** Rows as the Web API returns them (no `$select`): `_x_value` lookups, `@odata.etag`. */
  rows(table: string): Record<string, unknown>[];
  row(table: string, id: string): Record<string, unknown> | undefined;
  /** Test setup without HTTP (still validated, versioned and raising change events); returns the id. */
  insert(table: string, body: Record<string, unknown>, userId?: string): string;
  /** The systemuserid the emulator uses for a client id's application user. */
  userIdFor(clientId: string): string;
  expireDeltaTokens(): void;
  /**
   * Test-only admin function: while active, writes land but change tracking never reports them (a
   * change-tracking outage). Nothing a client sends can do this.
   */
  changeTrackingOutage(active: boolean): void;
  /** Deletes (false) or re-creates (true) a client's application user: without one, its requests get 403 0x80072560. */
  setApplicationUser(clientId: string, present: boolean): void;
  stop(): Promise<void>;
}

export async function startDataverseEmulator(options: DataverseEmulatorOptions): Promise<DataverseEmulator> {
  const now = options.now ?? Date.now;
  const schema = loadSchema(options.schema);
  const store = new Store(schema, now);
  const entities = new Entities(store);
  for (const def of schema.tables.values()) for (const row of def.rows) entities.create(def.logicalName, row, SYSTEM_USER_ID);

  const server = createServer();
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  const serviceRoot = `${origin}/api/data/v9.2/`;
  const organizationName = options.organizationName ?? "emulator";
  const organizationId = guidFrom(`org:${organizationName}`);
  const businessUnitId = firstId(store, "businessunit") ?? DEFAULT_BUSINESS_UNIT_ID;
  const tracking = new ChangeTracking(store, options.changeTrackingRetentionMs ?? DEFAULT_CHANGE_TRACKING_RETENTION_MS, now);
  const core: CoreParts = { store, entities, tracking, cursors: new PageCursors(), serviceRoot, organizationId, businessUnitId };
  const log = new RequestLog(options.log);
  const ctx: EmulatorContext = {
    dispatch: async (req) => {
      const started = Date.now();
      const response = await route(req, core, ctx);
      if (req.inBatch) {
        log.record({ at: started, method: req.method, path: req.url.pathname + req.url.search, headers: redact(req.headers), body: req.body,
          status: response.status, userId: req.userId, inBatch: true, durationMs: Date.now() - started });
      }
      return response;
    },
    ops: entities,
    transaction: store.transaction,
    onChange: (listener) => store.onChange(listener),
    origin, serviceRoot, organizationId, organizationName, businessUnitId, now,
  };
  const faults = new FaultScript();
  const throttle = new ServiceProtection(options.throttle, now);
  const webhooks = new WebhookDispatcher(ctx, { timeoutMs: options.webhookTimeoutMs });
  const expireDeltaTokens = () => tracking.expireAll();
  const withoutUser = new Set(options.withoutApplicationUser ?? []);
  const userFor = (clientId: string) => {
    if (withoutUser.has(clientId)) throw Errors.notOrgMember();
    return ensureApplicationUser(store, entities, clientId, businessUnitId);
  };
  const auth = new Authenticator(options.auth, origin, Date.now);
  server.on("request", createRequestHandler({ ctx, auth, userFor, faults, log, throttle, admin: {
    faults, log, webhooks, expireDeltaTokens, actAs: (request) => actAs(request, ctx, store), users: () => listUsers(store),
  } }));

  const wire = (table: string, row: Record<string, unknown>) => formatRow(entities.def(table), row, {}, store);
  return {
    origin, serviceRoot, faults, log, webhooks, throttle, ctx, schema,
    rows: (table) => [...store.rows(table)].map((r) => wire(table, r)),
    row: (table, id) => {
      const r = store.get(table, id);
      return r ? wire(table, r) : undefined;
    },
    insert: (table, body, userId) => entities.create(table, body, userId ?? SYSTEM_USER_ID),
    userIdFor: (clientId) => applicationUserId(clientId),
    expireDeltaTokens,
    changeTrackingOutage: (active) => store.setChangeTrackingOutage(active),
    setApplicationUser: (clientId, present) => void (present ? withoutUser.delete(clientId) : withoutUser.add(clientId)),
    async stop() {
      webhooks.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Creates the application user on first sight, so every write is attributed to it (doc §1). */
function ensureApplicationUser(store: Store, entities: Entities, clientId: string, businessUnitId: string): string {
  const id = applicationUserId(clientId);
  const def = store.schema.tables.get("systemuser");
  if (!def || store.get("systemuser", id)) return id;
  const body: Record<string, unknown> = { [def.primaryId]: id };
  if (def.columnMap.has(def.primaryName)) body[def.primaryName] = `# ${clientId}`.slice(0, def.columnMap.get(def.primaryName)!.maxLength ?? 100);
  if (def.columnMap.has("applicationid") && /^[0-9a-f-]{36}$/i.test(clientId)) body.applicationid = clientId;
  const bu = def.columnMap.get("businessunitid");
  if (bu?.targets?.includes("businessunit") && store.get("businessunit", businessUnitId)) {
    body[`${bu.navigationProperty ?? "businessunitid"}@odata.bind`] = `/businessunits(${businessUnitId})`;
  }
  entities.create("systemuser", body, SYSTEM_USER_ID);
  return id;
}

function firstId(store: Store, table: string): string | undefined {
  const def = store.schema.tables.get(table);
  if (!def) return undefined;
  const first = store.rows(table).next();
  return first.done ? undefined : String(first.value[def.primaryId]);
}

function guidFrom(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
