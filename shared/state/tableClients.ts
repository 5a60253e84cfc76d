import { TableClient } from "@azure/data-tables";
import type { TokenCredential } from "@azure/identity";
import { ErrorCodes, SyncError } from "../errors.js";

export interface TableConnectionOptions {
  /** Azurite/dev or shared-key/SAS connection string; `UseDevelopmentStorage=true` works too. */
  connectionString?: string;
  /** Identity-based: the table service URL (`AzureWebJobsStorage__tableServiceUri`) plus a credential. */
  accountUrl?: string;
  credential?: TokenCredential;
  /** Needed for `http://` endpoints (Azurite); detected from the endpoint when not given. */
  allowInsecureConnection?: boolean;
}

export type TableClientFactory = (tableName: string) => TableClient;

/** Validates the connection options once and returns a factory of clients for single tables. */
export function tableClientFactory(options: TableConnectionOptions): TableClientFactory {
  const { connectionString, accountUrl, credential } = options;
  if (connectionString) {
    const insecure = options.allowInsecureConnection ?? isInsecureConnectionString(connectionString);
    return (tableName) => {
      try {
        return TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection: insecure });
      } catch (e) {
        // The SDK's message may quote the connection string; ours never does.
        throw new SyncError("validation", ErrorCodes.InvalidSetting, "the storage connection string is malformed", { details: { reason: e instanceof Error ? e.name : "unknown" } });
      }
    };
  }
  if (accountUrl && credential) {
    let url: URL;
    try {
      url = new URL(accountUrl);
    } catch {
      throw new SyncError("validation", ErrorCodes.InvalidSetting, "the table service URL is not a URL");
    }
    const insecure = options.allowInsecureConnection ?? url.protocol === "http:";
    return (tableName) => new TableClient(accountUrl, tableName, credential, { allowInsecureConnection: insecure });
  }
  throw new SyncError("validation", ErrorCodes.InvalidSetting,
    "table storage needs a connection string, or a table service URL together with a credential");
}

function isInsecureConnectionString(cs: string): boolean {
  return /(^|;)\s*UseDevelopmentStorage=true/i.test(cs)
    || /(^|;)\s*DefaultEndpointsProtocol=http\s*(;|$)/i.test(cs)
    || /(^|;)\s*TableEndpoint=http:\/\//i.test(cs);
}

/** Table names: letters and digits, starting with a letter, 3 to 63 characters. */
export function assertTablePrefix(prefix: string): void {
  if (prefix && !/^[A-Za-z][A-Za-z0-9]{0,40}$/.test(prefix)) {
    throw new SyncError("validation", ErrorCodes.InvalidConfig, `table prefix "${prefix}" must be letters and digits and start with a letter`);
  }
}
