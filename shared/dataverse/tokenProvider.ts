import type { AccessToken, TokenCredential } from "@azure/identity";
import { ErrorCodes, SyncError, errorMessage, isSyncError } from "../errors.js";
import { systemClock } from "../http/clock.js";
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
  /** Scrubbed from any error message, in case a library echoes it. */
  secrets?: string[];
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
    try {
      token = await this.credential.getToken(this.options.scope);
    } catch (e) {
      throw this.authError(e);
    }
    if (!token?.token) throw this.authError(new Error("the credential returned no token"));
    this.cached = token;
    return token;
  }

  private authError(e: unknown): SyncError {
    if (isSyncError(e)) return e;
    const who = this.options.clientId ? ` for client ${this.options.clientId}` : "";
    const from = this.options.authority ? ` from ${this.options.authority}` : "";
    // MSAL messages are long and multi-line; the first line has the AADSTS code users search for.
    let detail = errorMessage(e).split(/\r?\n/)[0].trim();
    for (const secret of this.options.secrets ?? []) if (secret) detail = detail.split(secret).join("***");
    return new SyncError("auth", ErrorCodes.Auth, `Could not obtain a Dataverse token${who}${from}: ${detail}`);
  }
}
