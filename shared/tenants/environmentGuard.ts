import type { TableClient } from "@azure/data-tables";
import { ErrorCodes, SyncError } from "../errors.js";
import { encodeKey, RESERVED_PREFIX } from "../state/keys.js";
import { statusOf, translateStorageError } from "../state/tableErrors.js";
import { getOrNull } from "../state/tableSupport.js";

/** The marker's row key in each mapping's cursor partition (cursor rows are `dataverse` and `app`). */
const MARKER_ROW = `${RESERVED_PREFIX}environment`;

export interface EnvironmentMark {
  /** The Dataverse environment origin the state belongs to. */
  instanceUrl: string;
  /** WhoAmI's OrganizationId, when known (tenant registration records it). */
  organizationId?: string;
}

const same = (a: string, b: string) => a.replace(/\/+$/, "").toLowerCase() === b.replace(/\/+$/, "").toLowerCase();

/**
 * The storage guard. The first start writes, next to each mapping's cursors, which Dataverse
 * environment that state belongs to; every later start compares. State of another environment (a
 * second deployment with the same mapping names pointed at the same storage account, or a tenant
 * re-pointed at another org) makes the deployment refuse to run with STORAGE_ENVIRONMENT_MISMATCH
 * naming both environments, instead of syncing "0 written" from cursors and links that belong to
 * someone else. All state is partitioned by mapping, so mappings of other names do not collide.
 */
export async function guardEnvironment(cursors: TableClient, tenant: string, mappings: string[], mark: EnvironmentMark): Promise<void> {
  await Promise.all(mappings.map((m) => guardMapping(cursors, tenant, m, mark)));
}

async function guardMapping(cursors: TableClient, tenant: string, mapping: string, mark: EnvironmentMark): Promise<void> {
  const MARKER = { partitionKey: encodeKey(mapping), rowKey: MARKER_ROW };
  for (let attempt = 0; attempt < 3; attempt++) {
    const row = await getOrNull(cursors, MARKER.partitionKey, MARKER.rowKey, "read the storage's environment marker");
    if (row) {
      const storedUrl = String(row.instanceUrl ?? "");
      const storedOrg = typeof row.organizationId === "string" && row.organizationId ? row.organizationId : undefined;
      if (!same(storedUrl, mark.instanceUrl)) throw mismatch(tenant, mapping, `${storedUrl}`, mark.instanceUrl);
      if (storedOrg && mark.organizationId && storedOrg.toLowerCase() !== mark.organizationId.toLowerCase()) {
        throw mismatch(tenant, mapping, `${storedUrl} (organization ${storedOrg})`, `${mark.instanceUrl} (organization ${mark.organizationId})`);
      }
      if (!storedOrg && mark.organizationId) {
        await cursors.updateEntity({ ...MARKER, organizationId: mark.organizationId }, "Merge", { etag: row.etag }).catch((e: unknown) => {
          if (statusOf(e) !== 412) throw translateStorageError(e, "record the organization in the environment marker");
        });
      }
      return;
    }
    try {
      await cursors.createEntity({ ...MARKER, instanceUrl: mark.instanceUrl.replace(/\/+$/, ""), organizationId: mark.organizationId ?? "" });
      return;
    } catch (e) {
      // Another instance wrote it first: read and compare theirs.
      if (statusOf(e) !== 409) throw translateStorageError(e, "write the storage's environment marker");
    }
  }
}

function mismatch(tenant: string, mapping: string, stored: string, configured: string): SyncError {
  return new SyncError("validation", ErrorCodes.StorageEnvironmentMismatch,
    `the sync state of tenant "${tenant}" (mapping ${mapping}) in this storage account belongs to the Dataverse environment ${stored}, ` +
    `but this deployment is configured for ${configured}. Refusing to run: its cursors and links would be used for the wrong environment. ` +
    "Point the deployment at its own storage account, register the environment as a tenant of its own (POST /api/tenants), " +
    "or, if the environment really moved, delete the old state first (docs/multi-tenant.md, Storage guard)",
    { details: { tenant, mapping, stored, configured } });
}
