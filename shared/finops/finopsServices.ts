import { tmpdir } from "node:os";
import { ConfigError } from "../config/configError.js";
import type { FinopsJob } from "../config/finopsJob.js";
import { createDataverseCredential } from "../dataverse/createDataverseCredential.js";
import { TokenProvider } from "../dataverse/tokenProvider.js";
import { ErrorCodes, SyncError } from "../errors.js";
import { Settings as SettingNames, Tables } from "../names.js";
import type { Services } from "../runtime/services.js";
import { tableClientFactory } from "../state/tableClients.js";
import { translateStorageError } from "../state/tableErrors.js";
import { FinopsClient } from "./finopsClient.js";
import { FinopsLedger } from "./finopsLedger.js";
import { memoryLedgerRows, tableLedgerRows } from "./ledgerRows.js";

/** What the F&O jobs run on: the wire client, the ledger and the product's own services. */
export interface FinopsServices {
  s: Services;
  client: FinopsClient;
  ledger: FinopsLedger;
  /** Where downloads are kept while they are parsed (deleted after). */
  tmpDir: string;
}

export interface FinopsServiceOptions {
  /** The fetch the F&O client uses (tests observe the wire). */
  fetch?: typeof fetch;
  /** "memory": the ledger in memory (unit tests); default: Table Storage next to the other state. */
  ledger?: "memory" | "table";
  tablePrefix?: string;
  tmpDir?: string;
}

const built = new WeakMap<Services, Promise<FinopsServices>>();

/** The job of that name, or FINOPS_UNKNOWN_JOB naming the jobs there are. */
export function finopsJob(s: Pick<Services, "config">, name: string): FinopsJob {
  const job = s.config.finops?.find((j) => j.name === name);
  if (job) return job;
  const known = (s.config.finops ?? []).map((j) => j.name);
  throw new SyncError("validation", ErrorCodes.FinopsUnknownJob, `unknown F&O job "${name}"; the mapping file's finops jobs: ${known.join(", ") || "none"}`, { details: { known } });
}

/** Built once per Services (lazily: a deployment without F&O jobs never builds it). */
export function finopsServices(s: Services, options: FinopsServiceOptions = {}): Promise<FinopsServices> {
  let p = built.get(s);
  if (!p) {
    p = buildFinopsServices(s, options);
    built.set(s, p);
    p.catch(() => built.delete(s));
  }
  return p;
}

async function buildFinopsServices(s: Services, o: FinopsServiceOptions): Promise<FinopsServices> {
  const baseUrl = s.settings.finops?.baseUrl;
  if (!baseUrl) {
    throw new ConfigError(ErrorCodes.InvalidSetting, "Invalid settings", [`${SettingNames.finopsBaseUrl}: required for the mapping file's finops jobs: the F&O environment URL, e.g. https://contoso.operations.dynamics.com`]);
  }
  const d = s.settings.dynamics;
  const credential = createDataverseCredential({
    tenantId: d.tenantId, clientId: d.clientId, authorityHost: d.authorityHost, clientSecret: d.credential.secret,
    certificatePath: d.credential.certificatePath, credential: d.credential.kind === "client-secret" ? "secret" : d.credential.kind,
  });
  const tokens = new TokenProvider(credential, {
    scope: `${baseUrl}/.default`, resource: `Finance & Operations (${baseUrl})`, clock: s.clock, clientId: d.clientId, tenantId: d.tenantId, authority: d.authorityHost,
    timeoutMs: s.config.options.http.tokenTimeoutMs, secrets: d.credential.secret ? [d.credential.secret] : [],
  });
  const client = new FinopsClient({
    baseUrl, tokens, clock: s.clock, fetch: o.fetch, bounds: s.config.options.http,
    onRetry: ({ error, delayMs }) => s.logger.warn("F&O call retried", { code: error.code, status: error.status, delayMs }),
  });
  return { s, client, ledger: new FinopsLedger(o.ledger === "memory" ? memoryLedgerRows() : await tableRows(s, o.tablePrefix)), tmpDir: o.tmpDir ?? tmpdir() };
}

async function tableRows(s: Services, tablePrefix = "") {
  const storage = s.settings.storage;
  if (storage.kind !== "connection-string") {
    const { storageCredential } = await import("../runtime/services.js");
    const client = tableClientFactory({ accountUrl: storage.tableServiceUri, credential: storageCredential(storage) })(tablePrefix + Tables.finopsMessages);
    return tableLedgerRows(client);
  }
  const client = tableClientFactory({ connectionString: storage.connectionString })(tablePrefix + Tables.finopsMessages);
  try {
    await client.createTable();
  } catch (e) {
    throw translateStorageError(e, "create the F&O message table");
  }
  return tableLedgerRows(client);
}
