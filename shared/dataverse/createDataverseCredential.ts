import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from "@azure/identity";
import { ErrorCodes, SyncError } from "../errors.js";
import { Settings } from "../names.js";
import type { Clock } from "../ports.js";
import { TokenProvider } from "./tokenProvider.js";

export const CredentialKinds = ["secret", "certificate", "managed-identity", "workload-identity"] as const;
export type CredentialKind = (typeof CredentialKinds)[number];

export interface DataverseCredentialSettings {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  certificatePath?: string;
  /** Default: "secret" when a secret is given, else "certificate" when a path is given. */
  credential?: CredentialKind;
  /** Default https://login.microsoftonline.com. Must be https (MSAL requires it). */
  authorityHost?: string;
}

export const defaultAuthorityHost = "https://login.microsoftonline.com";

const microsoftHosts = new Set([
  "login.microsoftonline.com",
  "login.microsoftonline.us",
  "login.chinacloudapi.cn",
  "login.partner.microsoftonline.cn",
]);

/** MSAL calls a hard-coded Microsoft discovery URL unless told otherwise; only Microsoft hosts may be discovered. */
export function isMicrosoftAuthority(authorityHost: string): boolean {
  return microsoftHosts.has(new URL(authorityHost).hostname.toLowerCase());
}

export function credentialKind(settings: DataverseCredentialSettings): CredentialKind {
  if (settings.credential) return settings.credential;
  if (settings.clientSecret) return "secret";
  if (settings.certificatePath) return "certificate";
  throw invalid(Settings.dynamicsClientSecret, "set a client secret, a certificate path, or DYNAMICS_CREDENTIAL=managed-identity|workload-identity");
}

/** Builds the @azure/identity credential for the configured kind; the secret stays inside it. */
export function createDataverseCredential(settings: DataverseCredentialSettings): TokenCredential {
  const authority = authorityOptions(settings.authorityHost);
  const kind = credentialKind(settings);
  if (!CredentialKinds.includes(kind)) throw invalid(Settings.dynamicsCredential, `must be one of ${CredentialKinds.join(", ")}`);
  if (kind !== "managed-identity" && !settings.tenantId) throw invalid(Settings.dynamicsTenantId, "is required");
  switch (kind) {
    case "secret":
      if (!settings.clientSecret) throw invalid(Settings.dynamicsClientSecret, "is required for the secret credential");
      return new ClientSecretCredential(settings.tenantId, settings.clientId, settings.clientSecret, authority);
    case "certificate":
      if (!settings.certificatePath) throw invalid(Settings.dynamicsClientCertificatePath, "is required for the certificate credential");
      return new ClientCertificateCredential(settings.tenantId, settings.clientId, { certificatePath: settings.certificatePath }, authority);
    case "managed-identity":
      // A user-assigned identity is picked by its client id; a system-assigned one needs none.
      return settings.clientId ? new ManagedIdentityCredential({ clientId: settings.clientId }) : new ManagedIdentityCredential();
    case "workload-identity":
      return new WorkloadIdentityCredential({ tenantId: settings.tenantId, clientId: settings.clientId, ...authority });
  }
}

/** MSAL options for the authority: instance discovery only against Microsoft hosts. */
export function authorityOptions(authorityHost: string = defaultAuthorityHost): { authorityHost: string; disableInstanceDiscovery?: true } {
  const host = normalizeAuthority(authorityHost);
  return isMicrosoftAuthority(host) ? { authorityHost: host } : { authorityHost: host, disableInstanceDiscovery: true };
}

function normalizeAuthority(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(Settings.dynamicsAuthorityHost, "is not a URL");
  }
  if (url.protocol !== "https:") throw invalid(Settings.dynamicsAuthorityHost, "must use https://");
  return url.origin + url.pathname.replace(/\/+$/, "");
}

function invalid(setting: string, problem: string): SyncError {
  return new SyncError("validation", ErrorCodes.InvalidSetting, `${setting} ${problem}`, { details: { setting } });
}

/** Credential plus cached, single-flight token provider for `<instanceUrl>/.default`. */
export function createDataverseTokenProvider(settings: DataverseCredentialSettings & { instanceUrl: string }, options: { clock?: Clock; timeoutMs?: number } = {}): TokenProvider {
  return TokenProvider.forInstance(createDataverseCredential(settings), settings.instanceUrl, {
    clock: options.clock,
    timeoutMs: options.timeoutMs,
    clientId: settings.clientId,
    tenantId: settings.tenantId,
    authority: settings.authorityHost ?? defaultAuthorityHost,
    secrets: settings.clientSecret ? [settings.clientSecret] : [],
  });
}
