import { createHash } from "node:crypto";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { Codes } from "./dataverseErrors.js";
import { DataverseFault } from "./types.js";

export interface EmulatorAuthOptions {
  /** The token endpoint's signing keys (called again when a token names an unknown key). */
  jwks: () => Promise<{ keys: object[] }> | { keys: object[] };
  /** Required `iss` when given (e.g. `https://127.0.0.1:1234/<tenant>/v2.0`). */
  issuer?: string;
  /** For `WWW-Authenticate`; derived from `issuer` when omitted, else login.microsoftonline.com. */
  authorityHost?: string;
  tenantId?: string;
}

const CACHE_LIMIT = 1000;

/**
 * Verifies Bearer tokens like Dataverse: signature against the JWKS, audience = the org URL,
 * expiry. Verified tokens are cached until they expire, so benchmarks do not pay RSA per request.
 */
export class Authenticator {
  private keySet?: ReturnType<typeof createLocalJWKSet>;
  private readonly cache = new Map<string, { clientId: string; exp: number }>();
  private readonly authorizationUri: string;

  constructor(private readonly options: EmulatorAuthOptions, private readonly origin: string, private readonly now: () => number) {
    const fromIssuer = options.issuer ? /^(https?:\/\/[^/]+)\/([^/]+)/.exec(options.issuer) : null;
    const authority = (options.authorityHost ?? fromIssuer?.[1] ?? "https://login.microsoftonline.com").replace(/\/+$/, "");
    const tenant = options.tenantId ?? fromIssuer?.[2] ?? "common";
    this.authorizationUri = `${authority}/${tenant}/oauth2/authorize`;
  }

  /** The caller's client id (`appid`/`azp`), or a 401 fault naming the problem. */
  async authenticate(authorization: string | undefined): Promise<string> {
    const m = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization.trim()) : null;
    if (!m) throw this.unauthorized("", "RequestIsNotAuthenticated: the request has no Bearer access token.");
    const token = m[1];
    const cached = this.cache.get(token);
    if (cached && cached.exp * 1000 > this.now()) return cached.clientId;
    if (cached) this.cache.delete(token);
    const payload = await this.verify(token);
    const clientId = typeof payload.appid === "string" ? payload.appid : typeof payload.azp === "string" ? payload.azp : undefined;
    if (!clientId) throw this.unauthorized("", "InvalidAuthTicket: the access token has no appid or azp claim.");
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, { clientId, exp: payload.exp ?? 0 });
    return clientId;
  }

  challengeHeaders(): Record<string, string> {
    return { "www-authenticate": `Bearer authorization_uri=${this.authorizationUri}, resource_id=${this.origin}` };
  }

  private async verify(token: string): Promise<JWTPayload> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.keySet || attempt === 1) this.keySet = createLocalJWKSet((await this.options.jwks()) as JSONWebKeySet);
      try {
        const { payload } = await jwtVerify(token, this.keySet, {
          audience: [this.origin, `${this.origin}/`],
          issuer: this.options.issuer,
          currentDate: new Date(this.now()),
          requiredClaims: ["exp"],
        });
        return payload;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "ERR_JWKS_NO_MATCHING_KEY" && attempt === 0) continue;
        if (code === "ERR_JWT_EXPIRED") throw this.unauthorized(Codes.expiredOAuthToken, "ExpiredOAuthToken: The OAuth token has expired.");
        if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") {
          const claim = (err as { claim?: string }).claim;
          const what = claim === "aud" ? `the audience is not ${this.origin}` : `claim '${claim}' is not valid`;
          throw this.unauthorized("", `InvalidAuthTicket: the access token was rejected because ${what}.`);
        }
        throw this.unauthorized("", "InvalidAuthTicket: the access token is malformed or its signature is not valid.");
      }
    }
    throw this.unauthorized("", "InvalidAuthTicket: the access token is signed with an unknown key.");
  }

  private unauthorized(code: string, message: string): DataverseFault {
    return new DataverseFault(401, code, message, this.challengeHeaders());
  }
}

/** A stable GUID for the application user of a client id (the same across emulator restarts). */
export function applicationUserId(clientId: string): string {
  const h = createHash("sha256").update(`d365-sync-emulator:appuser:${clientId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
