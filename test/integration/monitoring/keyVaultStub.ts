/**
 * A stub of the Key Vault REST API on loopback (HTTPS with the development certificate), enough for
 * @azure/keyvault-secrets' getSecret: the challenge-based Bearer authentication (401 with
 * WWW-Authenticate naming the tenant's authority and the vault resource), then
 * `GET /secrets/{name}[/{version}]` answering the secret bundle with its `attributes.exp`. Tokens are
 * verified against the local token endpoint's keys, and must be for the vault resource.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createLocalJWKSet, jwtVerify } from "jose";
import type { TokenServer } from "../../emulators/token/index.js";

export const VAULT_RESOURCE = "https://vault.azure.net";

export interface StoredSecret {
  value: string;
  /** The `expires` attribute; absent: the secret has none. */
  expires?: Date;
}

export interface KeyVaultStub {
  /** `https://127.0.0.1:<port>` */
  vaultUrl: string;
  secrets: Map<string, StoredSecret>;
  /** Requests as received: method, path, whether they carried a valid token. */
  requests: { method: string; path: string; authorized: boolean }[];
  stop(): Promise<void>;
}

export async function startKeyVaultStub(token: TokenServer): Promise<KeyVaultStub> {
  const certPath = process.env.D365_SYNC_DEV_TLS_CERT;
  const keyPath = process.env.D365_SYNC_DEV_TLS_KEY;
  if (!certPath || !keyPath) throw new Error("the Key Vault stub needs D365_SYNC_DEV_TLS_CERT/KEY (run through scripts/test.mjs)");
  const jwks = createLocalJWKSet(token.jwks());
  const secrets = new Map<string, StoredSecret>();
  const requests: KeyVaultStub["requests"] = [];
  let origin = "";
  const server: Server = createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", origin);
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      let authorized = false;
      if (bearer) {
        authorized = await jwtVerify(bearer, jwks, { issuer: token.issuer, audience: VAULT_RESOURCE }).then(() => true, () => false);
      }
      requests.push({ method: req.method ?? "", path: url.pathname, authorized });
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers }).end(JSON.stringify(body));
      };
      if (!authorized) {
        return json(401, { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } }, {
          "www-authenticate": `Bearer authorization="${token.authorityHost}/${token.tenantId}", resource="${VAULT_RESOURCE}"`,
        });
      }
      const m = /^\/secrets\/([0-9A-Za-z-]+)(?:\/([0-9A-Za-z]*))?\/?$/.exec(url.pathname);
      const secret = m && req.method === "GET" ? secrets.get(m[1]) : undefined;
      if (!m || !secret) return json(404, { error: { code: "SecretNotFound", message: `A secret with (name/id) ${m?.[1] ?? "?"} was not found in this key vault.` } });
      const version = m[2] || "4387e9f3d6e14c459867679a90fd0f79";
      const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
      json(200, {
        value: secret.value,
        id: `${origin}/secrets/${m[1]}/${version}`,
        attributes: { enabled: true, created: seconds(new Date(Date.now() - 86_400_000)), updated: seconds(new Date(Date.now() - 86_400_000)), recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90, ...(secret.expires ? { exp: seconds(secret.expires) } : {}) },
        tags: {},
      });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    vaultUrl: origin, secrets, requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
