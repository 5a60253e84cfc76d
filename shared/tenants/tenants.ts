import { statusOf, translateStorageError } from "../state/tableErrors.js";
import { tableClientFactory, type TableConnectionOptions } from "../state/tableClients.js";
import { ErrorCodes, SyncError, errorMessage } from "../errors.js";
import { Tables } from "../names.js";
import type { Settings } from "../config/settings.js";
import { createDataverseClient, createDataverseTokenProvider } from "../dataverse/index.js";
import { createLocalDataverseBudget } from "../throttle/dataverseBudget.js";
import { createServices, storageCredential, type ServiceOptions, type Services } from "../runtime/services.js";
import { adminConsentUrl, applicationUserMissing, classifyingConsent, consentRequired, isApplicationUserMissing, isConsentMissing } from "./consent.js";
import { TenantRegistry, type TenantRecord } from "./registry.js";
import { DEFAULT_TENANT, assertTenantId, tenantTablePrefix } from "./tenantIds.js";
import { tenantWebhooks } from "./webhookKeys.js";

export interface TenantInput {
  id: string;
  tenantId: string;
  dynamicsInstanceUrl: string;
  appBaseUrl?: string;
}

export type AccessCheck =
  | { status: "active"; organizationId: string }
  | { status: "consent_required"; adminConsentUrl: string; message: string }
  | { status: "application_user_missing"; message: string };

/**
 * The tenants one deployment serves. `default` is the services the settings describe; every other
 * tenant's services are built from the registry row with the same options, except what makes a
 * tenant: its environment and Entra tenant (own token credential, cached and refreshed by
 * @azure/identity), its table prefix (own state and throttle budget), its app base URL and
 * `X-Sync-Tenant`, its webhook keys. Built once per tenant and kept.
 */
export class TenantDirectory {
  private registryP?: Promise<TenantRegistry>;
  private readonly built = new Map<string, Promise<Services>>();

  constructor(readonly base: Services) {
    if (!base.options) throw new Error("the tenant directory needs services built by createServices");
  }

  private get options(): ServiceOptions {
    return this.base.options!;
  }

  registry(): Promise<TenantRegistry> {
    this.registryP ??= TenantRegistry.create(storageTarget(this.options.settings), this.options.tablePrefix).catch((e: unknown) => {
      this.registryP = undefined;
      throw e;
    });
    return this.registryP;
  }

  /** The tenant's services; TENANT_NOT_FOUND when it is not registered. */
  async services(id: string): Promise<Services> {
    if (id === DEFAULT_TENANT) return this.base;
    assertTenantId(id);
    let p = this.built.get(id);
    if (!p) {
      p = (async () => {
        const record = await (await this.registry()).get(id);
        if (!record) throw tenantNotFound(id);
        return createServices(this.tenantOptions(record));
      })();
      this.built.set(id, p);
      p.catch(() => this.built.delete(id));
    }
    return p;
  }

  private listed?: { at: number; tenants: Promise<TenantRecord[]> };

  /** The registered tenants, read at most once a minute (queue workers and webhooks ask on every message; other instances see a change within that minute). */
  async registered(): Promise<TenantRecord[]> {
    const now = this.base.clock.now();
    if (!this.listed || now - this.listed.at >= 60_000 || now < this.listed.at) {
      const tenants = this.registry().then((r) => r.list());
      this.listed = { at: now, tenants };
      tenants.catch(() => (this.listed = undefined));
    }
    return this.listed.tenants;
  }

  /**
   * The services of `default` and of every registered tenant, for the timers. A tenant whose
   * services cannot be built (its storage guard refuses, say) is logged and left out: the others run.
   */
  async everyTenant(): Promise<Services[]> {
    const out: Services[] = [this.base];
    for (const t of await (await this.registry()).list()) {
      try {
        out.push(await this.services(t.id));
      } catch (e) {
        this.base.logger.error("tenant skipped: its services could not be built", { tenant: t.id, error: errorMessage(e) });
      }
    }
    return out;
  }

  /** The registered tenant whose Dataverse organization this is (webhook routing); undefined for any other. */
  async byOrganization(organizationId: string): Promise<TenantRecord | undefined> {
    const org = organizationId.toLowerCase();
    return (await this.registered()).find((t) => t.organizationId.toLowerCase() === org);
  }

  tenantOptions(record: TenantRecord): ServiceOptions {
    const o = this.options;
    const d = o.settings.dynamics;
    const settings: Settings = {
      ...o.settings,
      dynamics: { ...d, instanceUrl: record.dynamicsInstanceUrl, tenantId: record.tenantId },
      app: { ...o.settings.app, baseUrl: record.appBaseUrl ?? o.settings.app.baseUrl },
      webhooks: tenantWebhooks(o.settings.webhooks, record.id),
    };
    const access = { tenant: record.id, tenantId: record.tenantId, clientId: d.clientId, authorityHost: d.authorityHost };
    return {
      ...o, settings, tenant: record.id, organizationId: record.organizationId,
      // Never another tenant's budget: an injected one (tests) is the default tenant's.
      dataverseBudget: undefined,
      wrapTokens: (t) => classifyingConsent(t, { ...access, onStatus: (status) => void this.setStatus(record.id, status) }),
    };
  }

  private async setStatus(id: string, status: TenantRecord["status"]): Promise<void> {
    try {
      await (await this.registry()).setStatus(id, status);
    } catch (e) {
      this.base.logger.warn("tenant status not recorded", { tenant: id, status, error: errorMessage(e) });
    }
  }

  /** A token for the tenant and a WhoAmI against its environment, for real. */
  async checkAccess(input: TenantInput): Promise<AccessCheck> {
    const o = this.options;
    const d = o.settings.dynamics;
    const clock = o.clock;
    const tokens = createDataverseTokenProvider({
      instanceUrl: input.dynamicsInstanceUrl, tenantId: input.tenantId, clientId: d.clientId, authorityHost: d.authorityHost,
      clientSecret: d.credential.secret, certificatePath: d.credential.certificatePath,
      credential: d.credential.kind === "client-secret" ? "secret" : d.credential.kind,
    }, { clock, timeoutMs: this.base.config.options.http.tokenTimeoutMs });
    const access = { tenant: input.id, tenantId: input.tenantId, clientId: d.clientId, authorityHost: d.authorityHost };
    try {
      await tokens.getToken();
    } catch (e) {
      if (isConsentMissing(e)) {
        return { status: "consent_required", adminConsentUrl: adminConsentUrl(d.authorityHost, input.tenantId, d.clientId), message: consentRequired(access, e).message };
      }
      throw e;
    }
    const client = createDataverseClient({
      instanceUrl: input.dynamicsInstanceUrl, tokens, clock, logger: this.base.logger, fetch: o.dataverseFetch,
      budget: createLocalDataverseBudget(`${d.clientId}@${input.tenantId}`, clock), bounds: this.base.config.options.http,
    });
    try {
      const who = await client.whoAmI();
      return { status: "active", organizationId: who.OrganizationId };
    } catch (e) {
      if (isApplicationUserMissing(e)) return { status: "application_user_missing", message: applicationUserMissing(input.id, input.dynamicsInstanceUrl, d.clientId, e).message };
      throw e;
    }
  }

  /**
   * Registers a tenant after checking its access; `exists` when the id is taken. Its state tables
   * are created and its environment marker written (the storage guard) before it answers active.
   */
  async register(input: TenantInput, now: string): Promise<AccessCheck | { status: "exists" }> {
    assertTenantId(input.id);
    if (input.id === DEFAULT_TENANT) return { status: "exists" };
    const registry = await this.registry();
    if (await registry.get(input.id)) return { status: "exists" };
    const check = await this.checkAccess(input);
    if (check.status !== "active") return check;
    const record: TenantRecord = {
      id: input.id, tenantId: input.tenantId, dynamicsInstanceUrl: input.dynamicsInstanceUrl.replace(/\/+$/, ""),
      ...(input.appBaseUrl ? { appBaseUrl: input.appBaseUrl } : {}),
      organizationId: check.organizationId, status: "active", registeredAt: now,
    };
    // Builds its tables and checks the storage guard first: leftover state of another environment under this id refuses.
    const services = createServices(this.tenantOptions(record));
    await services;
    if (!(await registry.add(record))) return { status: "exists" };
    this.built.set(input.id, services);
    this.listed = undefined;
    return check;
  }

  /** Removes the tenant; with `purge`, every table of its state too (and nothing of anyone else). False when unknown. */
  async remove(id: string, purge: boolean): Promise<boolean> {
    assertTenantId(id);
    if (id === DEFAULT_TENANT) throw new SyncError("validation", ErrorCodes.BadRequest, "the default tenant is the deployment's own settings: it cannot be deleted");
    const registry = await this.registry();
    if (!(await registry.get(id))) return false;
    await registry.remove(id);
    this.built.delete(id);
    this.listed = undefined;
    if (purge) await purgeTenantTables(storageTarget(this.options.settings), (this.options.tablePrefix ?? "") + tenantTablePrefix(id));
    return true;
  }
}

/** Deletes exactly the tables named `<prefix><Tables name>`: the tenant's, whose prefix no other tenant's names share. */
export async function purgeTenantTables(storage: TableConnectionOptions, prefix: string): Promise<void> {
  const factory = tableClientFactory(storage);
  for (const name of Object.values(Tables)) {
    try {
      await factory(prefix + name).deleteTable();
    } catch (e) {
      if (statusOf(e) !== 404) throw translateStorageError(e, `delete table ${prefix}${name}`);
    }
  }
}

export function storageTarget(settings: Settings): TableConnectionOptions {
  const s = settings.storage;
  return s.kind === "connection-string"
    ? { connectionString: s.connectionString, allowInsecureConnection: true }
    : { accountUrl: s.tableServiceUri, credential: storageCredential(s), allowInsecureConnection: true };
}

export function tenantNotFound(id: string): SyncError {
  return new SyncError("permanent", ErrorCodes.TenantNotFound, `no tenant "${id}" is registered (GET /api/tenants lists them)`, { status: 404, details: { tenant: id } });
}

const directories = new WeakMap<Services, TenantDirectory>();

/** The tenant directory of a deployment's default services (one per services object). */
export function tenantsOf(base: Services): TenantDirectory {
  let dir = directories.get(base);
  if (!dir) directories.set(base, (dir = new TenantDirectory(base)));
  return dir;
}

/** Whether the deployment serves registered tenants besides `default` (false for services not built by createServices). */
export async function servesTenants(base: Services): Promise<boolean> {
  return base.options ? (await tenantsOf(base).registered()).length > 0 : false;
}
