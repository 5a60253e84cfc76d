import type { AccessToken, TokenCredential } from "@azure/identity";
import { ErrorCodes, SyncError, errorMessage, isSyncError } from "../errors.js";
import { systemClock } from "../http/clock.js";
import { defaultHttpBounds, MAX_TIMER_MS } from "../http/httpBounds.js";
import { Settings } from "../names.js";
import type { Clock } from "../ports.js";

export interface TokenSource {
  getToken(): Promise<string>;
}

export interface TokenProviderOptions {
  /** `<instanceUrl>/.default` */
  scope: string;
  clock?: Clock;
  /** Refresh this long before expiry (default 5 minutes). */
  refreshMarginMs?: number;
  /** For error messages only: who asked, and where. */
  clientId?: string;
  authority?: string;
  tenantId?: string;
  /** One acquisition ends after this (options.http.tokenTimeoutMs): a silent authority cannot hold a run. */
  timeoutMs?: number;
  /** Scrubbed from any error message, in case a library echoes it. */
  secrets?: string[];
  /** What the token is for, in error messages (default "Dataverse"; the F&O jobs' provider says "Finance & Operations"). */
  resource?: string;
}

const defaultMarginMs = 5 * 60_000;

/**
 * Caches the token and refreshes it ahead of expiry. Concurrent callers share one refresh
 * (single-flight), so a burst of parallel requests never asks the authority twice.
 */
export class TokenProvider implements TokenSource {
  private cached?: AccessToken;
  private inFlight?: Promise<AccessToken>;
  private readonly clock: Clock;
  private readonly marginMs: number;

  constructor(private readonly credential: TokenCredential, private readonly options: TokenProviderOptions) {
    this.clock = options.clock ?? systemClock;
    this.marginMs = options.refreshMarginMs ?? defaultMarginMs;
  }

  static forInstance(credential: TokenCredential, instanceUrl: string, options: Omit<TokenProviderOptions, "scope"> = {}): TokenProvider {
    return new TokenProvider(credential, { ...options, scope: `${new URL(instanceUrl).origin}/.default` });
  }

  async getToken(): Promise<string> {
    if (this.cached && this.clock.now() < this.cached.expiresOnTimestamp - this.marginMs) return this.cached.token;
    this.inFlight ??= this.fetchToken().finally(() => (this.inFlight = undefined));
    return (await this.inFlight).token;
  }

  /** Forget the cached token (after a 401, say) so the next call fetches a new one. */
  invalidate(): void {
    this.cached = undefined;
  }

  /** ms until the cached token expires, or undefined when there is none (for health/alerts). */
  expiresInMs(): number | undefined {
    return this.cached ? this.cached.expiresOnTimestamp - this.clock.now() : undefined;
  }

  private async fetchToken(): Promise<AccessToken> {
    let token: AccessToken | null;
    const timeoutMs = Math.min(this.options.timeoutMs ?? defaultHttpBounds.tokenTimeoutMs, MAX_TIMER_MS);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new SyncError("transient", ErrorCodes.Timeout,
          `Could not obtain a ${this.options.resource ?? "Dataverse"} token${this.whoFrom()}: no answer within ${timeoutMs} ms (options.http.tokenTimeoutMs)`, { details: { bound: "token", timeoutMs } }));
      }, timeoutMs);
    });
    try {
      // The signal stops the credential's own requests where it honours it; the race ends the wait regardless.
      token = await Promise.race([this.credential.getToken(this.options.scope, { abortSignal: controller.signal }), timedOut]);
    } catch (e) {
      throw this.authError(e);
    } finally {
      clearTimeout(timer);
    }
    if (!token?.token) throw this.authError(new Error("the credential returned no token"));
    this.cached = token;
    return token;
  }

  private whoFrom(): string {
    const who = this.options.clientId ? ` for client ${this.options.clientId}` : "";
    const from = this.options.authority ? ` from ${this.options.authority}` : "";
    return `${who}${from}`;
  }

  private authError(e: unknown): SyncError {
    if (isSyncError(e)) return e;
    // MSAL messages are long and multi-line; the first line has the AADSTS code users search for.
    let detail = errorMessage(e).split(/\r?\n/)[0].trim();
    const unknownTenant = isEndpointsResolution(e);
    if (unknownTenant) {
      // MSAL could not read the tenant's OpenID configuration: an unknown tenant, or a wrong authority.
      const tenant = this.options.tenantId ? ` "${this.options.tenantId}"` : "";
      detail = `the authority does not know the tenant${tenant} (${Settings.dynamicsTenantId}), or is not an Entra authority ` +
        `(${Settings.dynamicsAuthorityHost}); check both (MSAL endpoints_resolution_error)`;
    }
    for (const secret of this.options.secrets ?? []) if (secret) detail = detail.split(secret).join("***");
    return new SyncError("auth", ErrorCodes.Auth, `Could not obtain a ${this.options.resource ?? "Dataverse"} token${this.whoFrom()}: ${detail}`,
      unknownTenant ? { details: { setting: Settings.dynamicsTenantId } } : {});
  }
}

function isEndpointsResolution(e: unknown): boolean {
  const err = e as { errorCode?: unknown; message?: unknown } | null;
  return err?.errorCode === "endpoints_resolution_error" || /endpoints_resolution_error/.test(String(err?.message ?? ""));
}
