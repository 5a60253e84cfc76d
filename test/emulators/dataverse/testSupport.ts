import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { DEMO_SCHEMA_PATH, startDataverseEmulator, type DataverseEmulator, type DataverseEmulatorOptions } from "./emulator.js";

export interface TestEmulator {
  emulator: DataverseEmulator;
  clientId: string;
  /** A signed token; override claims (aud, exp, appid …) to build bad ones. */
  token(claims?: Record<string, unknown>, options?: { key?: CryptoKey; kid?: string }): Promise<string>;
  /** fetch against the service root with a valid token and the standard Dataverse headers. */
  api(path: string, init?: { method?: string; headers?: Record<string, string>; body?: unknown }): Promise<Response>;
}

/**
 * Starts the emulator (demo schema by default) with an in-test signing key, for tests that need a
 * Dataverse without the token endpoint. The caller stops it with `emulator.stop()`.
 */
export async function startTestEmulator(options: Partial<DataverseEmulatorOptions> & { clientId?: string } = {}): Promise<TestEmulator> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  const emulator = await startDataverseEmulator({ schema: DEMO_SCHEMA_PATH, ...options, auth: options.auth ?? { jwks: () => ({ keys: [jwk] }) } });
  const clientId = options.clientId ?? "11111111-2222-4333-8444-555555555555";
  const token = async (claims: Record<string, unknown> = {}, opts: { key?: CryptoKey; kid?: string } = {}) => {
    const nowSec = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: emulator.origin, appid: clientId, azp: clientId, tid: "test-tenant", iat: nowSec, nbf: nowSec - 5, exp: nowSec + 3600, ...claims })
      .setProtectedHeader({ alg: "RS256", kid: opts.kid ?? "test-key" })
      .sign(opts.key ?? privateKey);
  };
  const validToken = await token();
  const api: TestEmulator["api"] = (path, init = {}) => {
    const headers: Record<string, string> = {
      accept: "application/json", "odata-maxversion": "4.0", "odata-version": "4.0", authorization: `Bearer ${validToken}`,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...init.headers,
    };
    const url = /^https?:/.test(path) ? path : `${emulator.serviceRoot}${path}`;
    const body = init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    return fetch(url, { method: init.method ?? "GET", headers, body });
  };
  return { emulator, clientId, token, api };
}
