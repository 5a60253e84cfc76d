import type { TableClient } from "@azure/data-tables";
import { statusOf, translateStorageError } from "../state/tableErrors.js";
import { tableClientFactory, type TableConnectionOptions } from "../state/tableClients.js";
import { defined, deleteIfExists, getOrNull, optionalString, type Row } from "../state/tableSupport.js";

/** The registry's table (one per deployment; created on first use, like the state tables). */
export const TENANTS_TABLE = "SyncTenants";
const PARTITION = "tenant";

/** Where a tenant stands: `active`, or why its runs cannot work until someone acts. */
export type TenantStatus = "active" | "consent_required" | "application_user_missing";

export interface TenantRecord {
  id: string;
  /** The customer's Entra tenant (GUID or domain): the token authority. */
  tenantId: string;
  dynamicsInstanceUrl: string;
  appBaseUrl?: string;
  /** WhoAmI's OrganizationId at registration: Dataverse webhooks are routed by it. */
  organizationId: string;
  status: TenantStatus;
  registeredAt: string;
}

/** The tenant registry in Table Storage: one row per registered tenant (`default` is never stored). */
export class TenantRegistry {
  constructor(private readonly client: TableClient) {}

  static async create(storage: TableConnectionOptions, tablePrefix = ""): Promise<TenantRegistry> {
    const client = tableClientFactory(storage)(`${tablePrefix}${TENANTS_TABLE}`);
    try {
      await client.createTable();
    } catch (e) {
      if (statusOf(e) !== 409) throw translateStorageError(e, "create the tenant registry table");
    }
    return new TenantRegistry(client);
  }

  async get(id: string): Promise<TenantRecord | undefined> {
    const row = await getOrNull(this.client, PARTITION, id, "read a tenant");
    return row ? toRecord(row) : undefined;
  }

  async list(): Promise<TenantRecord[]> {
    const out: TenantRecord[] = [];
    try {
      for await (const row of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'` } })) {
        out.push(toRecord(row as Row));
      }
    } catch (e) {
      throw translateStorageError(e, "list tenants");
    }
    return out;
  }

  /** False when the id is taken. */
  async add(record: TenantRecord): Promise<boolean> {
    try {
      await this.client.createEntity({ partitionKey: PARTITION, rowKey: record.id, ...defined({ ...record, id: undefined }) });
      return true;
    } catch (e) {
      if (statusOf(e) === 409) return false;
      throw translateStorageError(e, "register a tenant");
    }
  }

  async setStatus(id: string, status: TenantStatus): Promise<void> {
    try {
      await this.client.updateEntity({ partitionKey: PARTITION, rowKey: id, status }, "Merge");
    } catch (e) {
      if (statusOf(e) !== 404) throw translateStorageError(e, "update a tenant's status");
    }
  }

  async remove(id: string): Promise<void> {
    await deleteIfExists(this.client, PARTITION, id, "remove a tenant");
  }
}

function toRecord(row: Row): TenantRecord {
  return {
    id: String(row.rowKey),
    tenantId: String(row.tenantId ?? ""),
    dynamicsInstanceUrl: String(row.dynamicsInstanceUrl ?? ""),
    ...(optionalString(row.appBaseUrl) ? { appBaseUrl: optionalString(row.appBaseUrl) } : {}),
    organizationId: String(row.organizationId ?? ""),
    status: (optionalString(row.status) ?? "active") as TenantStatus,
    registeredAt: String(row.registeredAt ?? ""),
  };
}
