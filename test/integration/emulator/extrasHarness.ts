/** Starts the Dataverse emulator with a local signing key and hands out Bearer tokens for it. */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { DEMO_SCHEMA_PATH, startDataverseEmulator, type DataverseEmulator, type DataverseEmulatorOptions } from "../../emulators/dataverse/index.js";

export interface Harness {
  emulator: DataverseEmulator;
  token(clientId?: string): Promise<string>;
  call(method: string, path: string, init?: { body?: string; headers?: Record<string, string>; clientId?: string }): Promise<Response>;
}

export const CLIENT_ID = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d";

export async function startHarness(options: Partial<DataverseEmulatorOptions> = {}): Promise<Harness> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const emulator = await startDataverseEmulator({ schema: DEMO_SCHEMA_PATH, auth: { jwks: () => ({ keys: [jwk] }) }, ...options });
  const tokens = new Map<string, string>();
  const token = async (clientId = CLIENT_ID) => {
    let t = tokens.get(clientId);
    if (!t) {
      t = await new SignJWT({ appid: clientId })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setAudience(emulator.origin)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey);
      tokens.set(clientId, t);
    }
    return t;
  };
  const call: Harness["call"] = async (method, path, init = {}) => {
    const url = path.startsWith("/") ? `${emulator.origin}${path}` : `${emulator.serviceRoot}${path}`;
    return fetch(url, {
      method,
      body: init.body,
      headers: {
        authorization: `Bearer ${await token(init.clientId)}`,
        accept: "application/json",
        "odata-version": "4.0",
        "odata-maxversion": "4.0",
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...init.headers,
      },
    });
  };
  return { emulator, token, call };
}
