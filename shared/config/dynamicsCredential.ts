import { statSync } from "node:fs";
import { resolve } from "node:path";
import { Settings as Names } from "../names.js";

export const CredentialKinds = ["client-secret", "certificate", "managed-identity", "workload-identity"] as const;
export type CredentialKind = (typeof CredentialKinds)[number];

/** How the app gets Dataverse tokens. `secret` only for client-secret, `certificatePath` only for certificate. */
export interface DynamicsCredential {
  kind: CredentialKind;
  secret?: string;
  /** Absolute path of a PEM file holding the certificate and its private key. */
  certificatePath?: string;
}

type Read = (name: string) => string | undefined;

const OPTIONS =
  `set ${Names.dynamicsClientSecret} (client secret), ${Names.dynamicsClientCertificatePath} (a PEM certificate with its private key), ` +
  `or ${Names.dynamicsCredential}=managed-identity or ${Names.dynamicsCredential}=workload-identity`;

function certificate(read: Read, problems: string[]): DynamicsCredential | undefined {
  const path = read(Names.dynamicsClientCertificatePath);
  if (path === undefined) {
    problems.push(`${Names.dynamicsClientCertificatePath}: required when ${Names.dynamicsCredential} is 'certificate': the path of a PEM file with the certificate and its private key`);
    return undefined;
  }
  const absolute = resolve(path);
  let isFile = false;
  try {
    isFile = statSync(absolute).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) {
    problems.push(`${Names.dynamicsClientCertificatePath}: must name an existing PEM file, got '${path}' (no such file)`);
    return undefined;
  }
  return { kind: "certificate", certificatePath: absolute };
}

function clientSecret(read: Read, problems: string[]): DynamicsCredential | undefined {
  const secret = read(Names.dynamicsClientSecret);
  if (secret === undefined) {
    problems.push(`${Names.dynamicsClientSecret}: required when ${Names.dynamicsCredential} is 'client-secret': the client secret of the Entra app registration`);
    return undefined;
  }
  return { kind: "client-secret", secret };
}

/**
 * The Dataverse credential. An explicit DYNAMICS_CREDENTIAL wins; otherwise it is inferred from
 * which of the secret or certificate settings is present (both at once is ambiguous: an error).
 */
export function credentialFrom(read: Read, problems: string[]): DynamicsCredential | undefined {
  const explicit = read(Names.dynamicsCredential);
  if (explicit !== undefined) {
    const kind = CredentialKinds.find((k) => k === explicit.toLowerCase());
    if (!kind) {
      problems.push(`${Names.dynamicsCredential}: must be one of ${CredentialKinds.join(", ")}, got '${explicit}'`);
      return undefined;
    }
    if (kind === "client-secret") return clientSecret(read, problems);
    if (kind === "certificate") return certificate(read, problems);
    return { kind };
  }
  const hasSecret = read(Names.dynamicsClientSecret) !== undefined;
  const hasCertificate = read(Names.dynamicsClientCertificatePath) !== undefined;
  if (hasSecret && hasCertificate) {
    problems.push(
      `${Names.dynamicsCredential}: both ${Names.dynamicsClientSecret} and ${Names.dynamicsClientCertificatePath} are set: ` +
        `set ${Names.dynamicsCredential} to client-secret or certificate to choose, or remove one`,
    );
    return undefined;
  }
  if (hasSecret) return clientSecret(read, problems);
  if (hasCertificate) return certificate(read, problems);
  problems.push(`${Names.dynamicsCredential}: no Dataverse credential is configured: ${OPTIONS}`);
  return undefined;
}
