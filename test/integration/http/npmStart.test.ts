import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../support/azurite.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const tsx = pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href;

interface Started {
  child: ChildProcess;
  marker: string;
  cwd: string;
  output: () => string;
  exited: Promise<number | null>;
}

const started: Started[] = [];

/**
 * `npm start` as a user runs it (the Node 22 launcher, tsx, cli.ts start), in its own working
 * directory so its `.local/stack.env` cannot touch the repository's. Every process it starts
 * inherits `marker`, which is how the test finds them (and proves they are gone) afterwards.
 */
function npmStart(env: Record<string, string>): Started {
  const marker = randomUUID();
  const cwd = mkdtempSync(join(tmpdir(), "d365-start-"));
  const base: Record<string, string | undefined> = { ...process.env };
  for (const name of ["DYNAMICS_INSTANCE_URL", "APP_BASE_URL", "AzureWebJobsStorage", "D365_SYNC_LOCAL_RUNNER"]) delete base[name];
  const child = spawn(process.execPath, [join(root, "scripts/node22.mjs"), "--import", tsx, join(root, "shared/runtime/cli.ts"), "start"], {
    cwd, detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: { ...base, HOST: "127.0.0.1", SYNC_CONFIG_PATH: join(root, "sync.config.json"), D365_SYNC_TEST_MARKER: marker, ...env },
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const s = { child, marker, cwd, output: () => output, exited };
  started.push(s);
  return s;
}

/** Live processes (ours) that carry the marker in their environment. */
function marked(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(`D365_SYNC_TEST_MARKER=${marker}`)) {
        const state = readFileSync(`/proc/${entry}/stat`, "latin1").split(") ")[1]?.[0];
        if (state !== "Z") pids.push(Number(entry));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

async function until(check: () => boolean | Promise<boolean>, what: () => string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

afterEach(async () => {
  // Whatever a failed test left running: only the processes this test started, by id.
  for (const s of started.splice(0)) {
    for (const pid of marked(s.marker)) {
      try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
    }
    rmSync(s.cwd, { recursive: true, force: true });
  }
});

describe("npm start", () => {
  it("serves the routes, and Ctrl-C stops it with every child process and its stack file gone", async () => {
    const port = await freePort();
    const s = npmStart({ PORT: String(port) });
    await until(() => s.output().includes("syncing on schedule"), () => `start-up; output so far:\n${s.output()}`);
    const azurite = marked(s.marker).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("azurite"));
    const healthBefore = await fetch(`http://127.0.0.1:${port}/api/health`);

    process.kill(s.child.pid!, "SIGINT");
    const code = await s.exited;
    await until(() => marked(s.marker).length === 0, () => `children to exit: ${marked(s.marker).join(", ")}`, 15_000);

    expect(s.output()).toContain(`http://127.0.0.1:${port}/api`);
    expect(healthBefore.status).toBe(200);
    expect(azurite.length).toBe(1);
    expect(code).toBe(0);
    expect(marked(s.marker)).toEqual([]);
    expect(existsSync(join(s.cwd, ".local/stack.env"))).toBe(false);
  });

  it("fails with a clear message naming the port when PORT is in use, leaving nothing running", async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(port, "127.0.0.1", () => r()));
    try {
      const s = npmStart({ PORT: String(port) });

      const code = await s.exited;
      await until(() => marked(s.marker).length === 0, () => `children to exit: ${marked(s.marker).join(", ")}`, 15_000);

      expect(code).toBe(1);
      expect(s.output()).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(s.output()).toContain("set PORT");
      expect(existsSync(join(s.cwd, ".local/stack.env"))).toBe(false);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
