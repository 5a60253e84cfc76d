import { Settings as Names } from "../names.js";
import { checkGuid, checkUrl, connectionParts, type Checked } from "./settingRules.js";

/**
 * `AzureWebJobsStorage`: a connection string, or the identity-based form the Functions host reads
 * (`AzureWebJobsStorage__accountName` or the service URIs, plus `__credential` / `__clientId`).
 */
export type StorageSettings =
  | { kind: "connection-string"; connectionString: string }
  | {
      kind: "identity";
      tableServiceUri: string;
      queueServiceUri: string;
      accountName?: string;
      /** `managedidentity` in Azure; unset locally (the developer's own identity is used). */
      credential?: "managedidentity";
      /** Client id of a user-assigned managed identity. */
      clientId?: string;
    };

export const StorageIdentitySettings = {
  accountName: `${Names.storage}__accountName`,
  tableServiceUri: `${Names.storage}__tableServiceUri`,
  queueServiceUri: `${Names.storage}__queueServiceUri`,
  credential: `${Names.storage}__credential`,
  clientId: `${Names.storage}__clientId`,
} as const;

type Read = (name: string) => string | undefined;

const CONNECTION_STRING_EXPECTED =
  "must be a storage connection string (UseDevelopmentStorage=true, or AccountName=...;AccountKey=..., " +
  "or TableEndpoint=...;QueueEndpoint=... with SharedAccessSignature=... or AccountKey=...)";

export function checkConnectionString(raw: string): Checked<string> {
  const parts = connectionParts(raw);
  if (parts.get("usedevelopmentstorage")?.toLowerCase() === "true") return { value: raw };
  const hasKey = !!parts.get("accountkey") || !!parts.get("sharedaccesssignature");
  if (parts.get("accountname") && parts.get("accountkey")) return { value: raw };
  if (hasKey && parts.get("tableendpoint") && parts.get("queueendpoint")) return { value: raw };
  // The value holds an account key: describe it, never quote it.
  return { problem: `${CONNECTION_STRING_EXPECTED}, got a value of ${raw.length} characters` };
}

function serviceUri(read: Read, name: string, problems: string[]): string | undefined {
  const raw = read(name);
  if (raw === undefined) return undefined;
  const checked = checkUrl(raw, { allowPath: true, loopbackHttp: true });
  if ("problem" in checked) {
    problems.push(`${name}: ${checked.problem}`);
    return undefined;
  }
  return checked.value;
}

/** `__clientId`, checked whichever storage form is used: the Functions host reads it too. */
function storageClientId(read: Read, problems: string[]): string | undefined {
  const raw = read(StorageIdentitySettings.clientId);
  if (raw === undefined) return undefined;
  const checked = checkGuid(raw, "the client id of a user-assigned managed identity");
  if ("problem" in checked) problems.push(`${StorageIdentitySettings.clientId}: ${checked.problem}`);
  return "value" in checked ? checked.value : undefined;
}

function identityStorage(read: Read, problems: string[]): StorageSettings | undefined {
  const before = problems.length;
  const accountName = read(StorageIdentitySettings.accountName);
  if (accountName !== undefined && !/^[a-z0-9]{3,24}$/.test(accountName)) {
    problems.push(`${StorageIdentitySettings.accountName}: must be a storage account name (3-24 lower-case letters and digits), got '${accountName}'`);
  }
  let table = serviceUri(read, StorageIdentitySettings.tableServiceUri, problems);
  let queue = serviceUri(read, StorageIdentitySettings.queueServiceUri, problems);
  const givenTable = read(StorageIdentitySettings.tableServiceUri) !== undefined;
  const givenQueue = read(StorageIdentitySettings.queueServiceUri) !== undefined;
  if (givenTable !== givenQueue && accountName === undefined) {
    const missing = givenTable ? StorageIdentitySettings.queueServiceUri : StorageIdentitySettings.tableServiceUri;
    problems.push(`${missing}: required together with ${givenTable ? StorageIdentitySettings.tableServiceUri : StorageIdentitySettings.queueServiceUri} (the sync uses both tables and queues)`);
  }
  if (accountName !== undefined) {
    table ??= `https://${accountName}.table.core.windows.net`;
    queue ??= `https://${accountName}.queue.core.windows.net`;
  }
  const credential = read(StorageIdentitySettings.credential);
  if (credential !== undefined && credential.toLowerCase() !== "managedidentity") {
    problems.push(`${StorageIdentitySettings.credential}: must be 'managedidentity' (or unset to use the developer's own identity locally), got '${credential}'`);
  }
  const clientId = storageClientId(read, problems);
  if (problems.length > before || !table || !queue) return undefined;
  return {
    kind: "identity",
    tableServiceUri: table,
    queueServiceUri: queue,
    ...(accountName !== undefined ? { accountName } : {}),
    ...(credential !== undefined ? { credential: "managedidentity" as const } : {}),
    ...(clientId !== undefined ? { clientId } : {}),
  };
}

/** Reads the storage settings, adding a problem per bad or missing setting. */
export function storageFrom(read: Read, problems: string[]): StorageSettings | undefined {
  const connectionString = read(Names.storage);
  if (connectionString !== undefined) {
    const checked = checkConnectionString(connectionString);
    const before = problems.length;
    if ("problem" in checked) problems.push(`${Names.storage}: ${checked.problem}`);
    storageClientId(read, problems);
    if (problems.length > before || "problem" in checked) return undefined;
    return { kind: "connection-string", connectionString: checked.value };
  }
  const identityGiven = Object.values(StorageIdentitySettings).some((name) => read(name) !== undefined);
  if (!identityGiven) {
    problems.push(
      `${Names.storage}: required: a connection string (UseDevelopmentStorage=true locally), or identity-based ` +
        `${StorageIdentitySettings.accountName}, or ${StorageIdentitySettings.tableServiceUri} and ${StorageIdentitySettings.queueServiceUri}`,
    );
    return undefined;
  }
  return identityStorage(read, problems);
}
