import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface AzuriteHandle {
  connectionString: string;
  blobPort: number;
  queuePort: number;
  tablePort: number;
  stop(): Promise<void>;
}

const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts Azurite from the project's own dependencies, in memory, on free loopback ports. A port
 * found free can be taken by another process before Azurite binds it, so a failed start is tried
 * again on new ports.
 */
export async function startAzurite(options: { heapMb?: number } = {}): Promise<AzuriteHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAzuriteOnce(options.heapMb);
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

/** `heapMb`: a larger V8 heap for Azurite, whose in-memory store holds every entity (benchmarks of a million links). */
async function startAzuriteOnce(heapMb?: number): Promise<AzuriteHandle> {
  const require = createRequire(import.meta.url);
  const main = join(dirname(require.resolve("azurite/package.json")), "dist", "src", "azurite.js");
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  // stdin is a pipe from this process that is never written: Azurite exits when it closes, so it
  // never outlives this process, even one killed with SIGKILL (scripts/exitWithParent.cjs).
  const watchParent = require.resolve("../../scripts/exitWithParent.cjs");
  const child: ChildProcess = spawn(process.execPath, [
    ...(heapMb ? [`--max-old-space-size=${heapMb}`] : []), "--require", watchParent, main, "--blobHost", "127.0.0.1", "--blobPort", String(blobPort),
    "--queueHost", "127.0.0.1", "--queuePort", String(queuePort),
    "--tableHost", "127.0.0.1", "--tablePort", String(tablePort),
    "--inMemoryPersistence", "--disableTelemetry", "--silent", "--skipApiVersionCheck", "--loose",
  ], { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`Azurite exited during start-up: ${output}`);
      return (await portOpen(blobPort)) && (await portOpen(queuePort)) && (await portOpen(tablePort));
    }, 30_000, () => `Azurite did not start within 30 s: ${output}`);
  } catch (e) {
    if (child.exitCode === null) child.kill("SIGKILL");
    throw e;
  }
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${ACCOUNT};QueueEndpoint=http://127.0.0.1:${queuePort}/${ACCOUNT};` +
    `TableEndpoint=http://127.0.0.1:${tablePort}/${ACCOUNT};`;
  return {
    connectionString, blobPort, queuePort, tablePort,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(message());
}
