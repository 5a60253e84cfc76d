import { ErrorCodes, SyncError, errorMessage, isSyncError } from "../errors.js";

/** The v1 admin-consent URL the customer's administrator opens once (finops-activities-tenants.md §3.2). */
export function adminConsentUrl(authorityHost: string, tenantId: string, clientId: string): string {
  return `${authorityHost.replace(/\/+$/, "")}/${encodeURIComponent(tenantId)}/adminconsent?client_id=${encodeURIComponent(clientId)}`;
}

/** Entra's answers when the app has no service principal in the tenant (never consented, or consent withdrawn). */
export function isConsentMissing(e: unknown): boolean {
  return /AADSTS(700016|65001)\b/.test(errorMessage(e));
}

/** Dataverse's answer when the token is valid but the org has no application user for the app. */
export function isApplicationUserMissing(e: unknown): boolean {
  const remote = isSyncError(e) ? e.remoteCode : undefined;
  return remote?.toLowerCase() === "0x80072560" || /0x80072560|not a member of the organization/i.test(errorMessage(e));
}

export interface TenantAccess {
  tenant: string;
  tenantId: string;
  clientId: string;
  authorityHost: string;
  /** Told when the tenant's access is refused or works again (the registry keeps its status). */
  onStatus?: (status: "active" | "consent_required") => void;
}

/**
 * A registered tenant's token provider: a refused consent becomes CONSENT_REQUIRED with the
 * admin-consent URL, so the tenant's failed run, its health and the notifier say what to do.
 */
export function classifyingConsent<T extends { getToken(): Promise<string> }>(source: T, access: TenantAccess): T {
  const getToken = source.getToken.bind(source);
  let refused = false;
  source.getToken = async () => {
    try {
      const token = await getToken();
      if (refused) access.onStatus?.("active");
      refused = false;
      return token;
    } catch (e) {
      if (!isConsentMissing(e)) throw e;
      if (!refused) access.onStatus?.("consent_required");
      refused = true;
      throw consentRequired(access, e);
    }
  };
  return source;
}

export function consentRequired(access: Omit<TenantAccess, "onStatus">, cause: unknown): SyncError {
  const url = adminConsentUrl(access.authorityHost, access.tenantId, access.clientId);
  return new SyncError("auth", ErrorCodes.ConsentRequired,
    `${ErrorCodes.ConsentRequired}: tenant "${access.tenant}": the Entra tenant ${access.tenantId} has not consented to the app ${access.clientId} (or withdrew it): ` +
    `an administrator of that tenant must open ${url} and accept. (${errorMessage(cause).split(/\r?\n/)[0].slice(0, 300)})`,
    { cause, details: { tenant: access.tenant, adminConsentUrl: url } });
}

export function applicationUserMissing(tenant: string, instanceUrl: string, clientId: string, cause: unknown): SyncError {
  return new SyncError("auth", ErrorCodes.ApplicationUserMissing,
    `${ErrorCodes.ApplicationUserMissing}: tenant "${tenant}": ${instanceUrl} has no application user for the app ${clientId} (Dataverse 0x80072560 "The user is not a member of the organization"). ` +
    `In the Power Platform admin center, open the environment, Settings > Users + permissions > Application users > New app user, ` +
    `choose the app ${clientId}, a business unit and the integration's custom security role (docs/multi-tenant.md)`,
    { cause, details: { tenant, clientId } });
}
