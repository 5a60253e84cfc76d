/**
 * A local Entra ID (v2.0) token endpoint for the client-credentials grant, good enough for MSAL /
 * @azure/identity: Entra-shaped paths, an issuer on the exact authority origin (MSAL validates it),
 * HTTPS with the development certificate (MSAL refuses plain http authorities).
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from "jose";
import { EntraErrors, entraErrorBody, type EntraError } from "./entraErrors.js";

export interface TokenClient {
  clientId: string;
  clientSecret: string;
}

export interface TokenServerOptions {
  tenantId: string;
  /**
   * More tenants the one app registration has consent in (a multi-tenant app: the same client id
   * and secret get tokens for each, `tid` and `iss` of that tenant). Default: only `tenantId`.
   */
  tenants?: string[];
  clients: TokenClient[];
  port?: number;
  certPath?: string;
  keyPath?: string;
  /** Lifetime of issued tokens (default 3599 s, like Entra's typical answer). */
  tokenLifetimeSeconds?: number;
  /** The token's `aud` for a requested scope (default: the scope without `/.default`, no trailing slash). */
  audienceFor?: (scope: string) => string;
}

/** One answered token request; never holds the secret. */
export interface TokenRequestLog {
  clientId: string;
  scope: string;
  status: number;
}

export interface TokenServer {
  /** `https://127.0.0.1:<port>`: pass as `authorityHost` (with `disableInstanceDiscovery: true`). */
  readonly authorityHost: string;
  readonly tenantId: string;
  /** `https://127.0.0.1:<port>/<tenant>/v2.0`, the `iss` of issued tokens. */
  readonly issuer: string;
  jwks(): { keys: JWK[] };
  /** Signs any claims with the server's key; defaults (iss, tid, iat, nbf, exp) are filled in unless given. */
  mintToken(claims: JWTPayload): Promise<string>;
  /** Number of requests to the token endpoint (MSAL cache hits do not reach it). */
  readonly requests: number;
  readonly tokenRequests: readonly TokenRequestLog[];
  /** The same log with the tenant of each request's path (`/<tenant>/oauth2/v2.0/token`). */
  readonly tenantTokenRequests: readonly (TokenRequestLog & { tenant: string })[];
  /** `https://127.0.0.1:<port>/<tenant>/v2.0`: the `iss` of a tenant's tokens. */
  issuerFor(tenant: string): string;
  /**
   * The tenant's administrator withdraws consent (deletes the enterprise application): token
   * requests for that tenant answer AADSTS700016, as Entra does. `grantConsent` gives it back.
   */
  revokeConsent(tenant: string): void;
  grantConsent(tenant: string): void;
  stop(): Promise<void>;
}

const DEFAULT_LIFETIME_S = 3599;

function defaultAudience(scope: string): string {
  return scope.slice(0, -"/.default".length).replace(/\/+$/, "");
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const certPath = options.certPath ?? process.env.D365_SYNC_DEV_TLS_CERT;
  const keyPath = options.keyPath ?? process.env.D365_SYNC_DEV_TLS_KEY;
  if (!certPath || !keyPath) {
    throw new Error("startTokenServer needs certPath/keyPath or D365_SYNC_DEV_TLS_CERT/D365_SYNC_DEV_TLS_KEY (run through scripts/test.mjs or scripts/node22.mjs)");
  }
  const lifetime = options.tokenLifetimeSeconds ?? DEFAULT_LIFETIME_S;
  const audienceFor = options.audienceFor ?? defaultAudience;
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = randomUUID().replace(/-/g, "");
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, use: "sig", alg: "RS256" };
  const clients = new Map(options.clients.map((c) => [c.clientId, c.clientSecret]));
  const tenants = new Set([options.tenantId, ...(options.tenants ?? [])]);
  const revoked = new Set<string>();
  const log: TokenRequestLog[] = [];
  const tenantLog: (TokenRequestLog & { tenant: string })[] = [];
  const record = (tenant: string, entry: TokenRequestLog) => {
    log.push(entry);
    tenantLog.push({ tenant, ...entry });
  };
  let requests = 0;
  let origin = "";

  const issuerFor = (tenant: string) => `${origin}/${tenant}/v2.0`;

  const sign = (claims: JWTPayload, tenant = options.tenantId) => {
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = { iss: issuerFor(tenant), tid: tenant, iat: now, nbf: now, exp: now + lifetime, ...claims };
    return new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "JWT", kid }).sign(privateKey);
  };

  const handleToken = async (req: IncomingMessage, res: ServerResponse, tenant: string) => {
    requests += 1;
    const form = new URLSearchParams(await readBody(req));
    const basic = parseBasic(req.headers.authorization);
    const clientId = basic?.id ?? form.get("client_id") ?? "";
    const secret = basic?.secret ?? form.get("client_secret");
    const scope = form.get("scope") ?? "";
    const grant = form.get("grant_type") ?? "";
    const fail = (kind: EntraError) => {
      record(tenant, { clientId, scope, status: kind.status });
      sendJson(res, kind.status, entraErrorBody(kind, { client: clientId, tenant, scope, grant }, origin, new Date()));
    };
    if (!tenants.has(tenant)) return fail(EntraErrors.unknownTenant);
    if (grant !== "client_credentials") return fail(EntraErrors.unsupportedGrant);
    if (!clientId) return fail(EntraErrors.missingClient);
    const expected = clients.get(clientId);
    if (expected === undefined || revoked.has(tenant)) return fail(EntraErrors.unknownClient);
    if (secret == null || secret === "") return fail(EntraErrors.missingSecret);
    if (!sameSecret(secret, expected)) return fail(EntraErrors.invalidClientSecret);
    const scopes = scope.split(" ").filter(Boolean);
    if (scopes.length !== 1 || !scopes[0].endsWith("/.default") || scopes[0] === "/.default") return fail(EntraErrors.invalidScope);
    const oid = uuidFrom(`${tenant}|${clientId}`);
    const accessToken = await sign({
      aud: audienceFor(scopes[0]), appid: clientId, azp: clientId, appidacr: "1", azpacr: "1",
      oid, sub: oid, idtyp: "app", ver: "2.0", uti: randomUUID().replace(/-/g, ""), roles: [],
    }, tenant);
    record(tenant, { clientId, scope, status: 200 });
    sendJson(res, 200, { token_type: "Bearer", expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken });
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", origin);
    const parts = url.pathname.split("/").filter(Boolean);
    const tenant = parts[0] ?? "";
    const rest = parts.slice(1).join("/");
    if (req.method === "GET" && tenant === "common" && rest === "discovery/instance") {
      return sendJson(res, 200, instanceDiscovery(origin, url));
    }
    if (req.method === "GET" && rest === "v2.0/.well-known/openid-configuration") {
      if (!tenants.has(tenant)) return sendJson(res, 400, entraErrorBody(EntraErrors.unknownTenant, { tenant }, origin, new Date()));
      return sendJson(res, 200, openIdConfiguration(origin, tenant, issuerFor(tenant)));
    }
    if (req.method === "GET" && rest === "discovery/v2.0/keys") return sendJson(res, 200, { keys: [publicJwk] });
    if (req.method === "POST" && rest === "oauth2/v2.0/token") return handleToken(req, res, tenant);
    sendJson(res, 404, { error: "not_found", error_description: `No route for ${req.method} ${url.pathname}` });
  };

  const server: Server = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: "server_error", error_description: e instanceof Error ? e.message : String(e) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    authorityHost: origin,
    tenantId: options.tenantId,
    issuer: issuerFor(options.tenantId),
    jwks: () => ({ keys: [{ ...publicJwk }] }),
    mintToken: (claims) => sign(claims),
    get requests() { return requests; },
    tokenRequests: log,
    tenantTokenRequests: tenantLog,
    issuerFor,
    revokeConsent: (tenant) => void revoked.add(tenant),
    grantConsent: (tenant) => void revoked.delete(tenant),
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function openIdConfiguration(origin: string, tenant: string, issuer: string) {
  return {
    token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    tenant_region_scope: "EU",
    cloud_instance_name: "127.0.0.1",
  };
}

/** Mirrors `login.microsoftonline.com/common/discovery/instance`, with this server as the only alias. */
function instanceDiscovery(origin: string, url: URL) {
  const host = new URL(origin).host;
  const authorize = url.searchParams.get("authorization_endpoint") ?? "";
  const tenant = /\/([^/]+)\/oauth2\//.exec(authorize)?.[1] ?? "common";
  return {
    tenant_discovery_endpoint: `${origin}/${tenant}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store, no-cache", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** RFC 6749 §2.3.1: id and secret are form-url-encoded before Base64. */
function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header?.toLowerCase().startsWith("basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const unform = (s: string) => { try { return decodeURIComponent(s.replace(/\+/g, " ")); } catch { return s; } };
  return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
}

/** Compares hashes so neither the length nor the content of the secret leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const h = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(h(given), h(expected));
}

/** A stable GUID-shaped object id per tenant and client, like a service principal's oid. */
function uuidFrom(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
