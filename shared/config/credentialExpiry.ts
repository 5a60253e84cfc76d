import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { TokenCredential } from "@azure/identity";
import { errorMessage } from "../errors.js";
import { isLoopbackHost } from "./settingRules.js";
import { Settings as Names } from "../names.js";
import type { Clock, Logger } from "../ports.js";
import type { Settings } from "./settings.js";

/** Where the expiry came from: the certificate's notAfter, the Key Vault secret's `expires`, or the setting. */
export type CredentialExpiryKind = "certificate" | "key-vault" | "setting";

/** What `GET /api/health` shows as `credential`, the metric reports and the notifier warns about. */
export interface CredentialExpiry {
  kind: CredentialExpiryKind;
  expiresOn: string;
  /** Whole days left, rounded down; negative once it has expired. */
  daysLeft: number;
}

export interface CredentialExpiryReader {
  /** null when nothing tells (managed identity without the setting). Never throws: problems are logged. */
  read(): Promise<CredentialExpiry | null>;
}

/** Reads a secret's attributes; the Key Vault SDK in production, anything answering the same in tests. */
export type VaultSecretExpiry = (secretUri: string) => Promise<Date | undefined>;

const DAY_MS = 86_400_000;
/** The expiry rarely changes: read it again at most this often. */
export const CREDENTIAL_EXPIRY_CACHE_MS = 3_600_000;
/** A vault that does not answer must not hold the health probe (it falls back to the setting). */
const VAULT_TIMEOUT_MS = 10_000;

function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The Key Vault secret's `expires` attribute, read with `credential` (the app's managed identity in
 * Azure) through @azure/keyvault-secrets. Its value is never looked at. Challenge-resource checks stay
 * on except for a loopback vault (tests run a stub of the Key Vault REST API there).
 */
export function keyVaultSecretExpiry(credential: TokenCredential): VaultSecretExpiry {
  return async (secretUri) => {
    const { SecretClient, parseKeyVaultSecretIdentifier } = await import("@azure/keyvault-secrets");
    const id = parseKeyVaultSecretIdentifier(secretUri.replace(/\/+$/, ""));
    const client = new SecretClient(id.vaultUrl, credential, { disableChallengeResourceVerification: isLoopbackHost(new URL(id.vaultUrl).hostname) });
    const secret = await client.getSecret(id.name, id.version ? { version: id.version } : {});
    return secret.properties.expiresOn;
  };
}

/** The managed identity of the app (user-assigned when AZURE_CLIENT_ID is set), for Key Vault. */
export async function managedIdentityVaultExpiry(): Promise<VaultSecretExpiry> {
  const { ManagedIdentityCredential } = await import("@azure/identity");
  const clientId = process.env.AZURE_CLIENT_ID;
  return keyVaultSecretExpiry(clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential());
}

export function daysLeft(expiresOn: number, now: number): number {
  return Math.floor((expiresOn - now) / DAY_MS);
}

/**
 * The Dataverse credential's expiry, in this order: a certificate credential's `notAfter`; the Key
 * Vault secret named by DYNAMICS_CLIENT_SECRET_VAULT_URI; DYNAMICS_CREDENTIAL_EXPIRES_ON. A source
 * that cannot be read is logged (by setting name, never a value) and the next one is used.
 */
export function credentialExpiryReader(
  settings: Pick<Settings, "dynamics" | "credentialExpiry">,
  options: { clock: Clock; logger: Logger; vault?: () => Promise<VaultSecretExpiry> },
): CredentialExpiryReader {
  let cached: { at: number; value: Promise<{ kind: CredentialExpiryKind; expiresOn: number } | null> } | undefined;
  const lookUp = async (): Promise<{ kind: CredentialExpiryKind; expiresOn: number } | null> => {
    const { credential } = settings.dynamics;
    if (credential.kind === "certificate" && credential.certificatePath) {
      try {
        const pem = await readFile(credential.certificatePath, "utf8");
        return { kind: "certificate", expiresOn: Date.parse(new X509Certificate(pem).validTo) };
      } catch (e) {
        options.logger.warn("credential expiry: the certificate could not be read", { setting: Names.dynamicsClientCertificatePath, error: errorMessage(e) });
      }
    }
    const uri = settings.credentialExpiry?.keyVaultSecretUri;
    if (uri) {
      try {
        const expires = await withinTime((async () => (await (options.vault ?? managedIdentityVaultExpiry)())(uri))(), VAULT_TIMEOUT_MS);
        if (expires) return { kind: "key-vault", expiresOn: expires.getTime() };
        options.logger.warn("credential expiry: the Key Vault secret has no expiry date", { setting: Names.dynamicsClientSecretVaultUri });
      } catch (e) {
        options.logger.warn("credential expiry: the Key Vault secret could not be read", { setting: Names.dynamicsClientSecretVaultUri, error: errorMessage(e) });
      }
    }
    const setting = settings.credentialExpiry?.expiresOn;
    return setting ? { kind: "setting", expiresOn: Date.parse(setting) } : null;
  };
  return {
    async read() {
      const now = options.clock.now();
      if (!cached || now - cached.at >= CREDENTIAL_EXPIRY_CACHE_MS || now < cached.at) cached = { at: now, value: lookUp() };
      const found = await cached.value;
      return found && { kind: found.kind, expiresOn: new Date(found.expiresOn).toISOString(), daysLeft: daysLeft(found.expiresOn, now) };
    },
  };
}
