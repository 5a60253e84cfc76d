/**
 * `npm start` (and other CLI commands) as a user runs them: the Node 22 launcher, tsx, cli.ts, in a
 * working directory of their own so their `.local/stack.env` cannot touch the repository's. Every
 * process a start makes inherits a marker in its environment, which is how a test finds them (and
 * proves they are gone) afterwards, and how it cleans up only what it started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const tsx = pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href;

export interface Started {
  child: ChildProcess;
  marker: string;
  cwd: string;
  output: () => string;
  exited: Promise<number | null>;
}

const started: Started[] = [];

/** `node scripts/node22.mjs --import tsx shared/runtime/cli.ts <args>`; the default is `start` on the demo. */
export function startCli(env: Record<string, string>, args: string[] = ["start"]): Started {
  const marker = randomUUID();
  const cwd = mkdtempSync(join(tmpdir(), "d365-start-"));
  const base: Record<string, string | undefined> = { ...process.env };
  for (const name of ["DYNAMICS_INSTANCE_URL", "APP_BASE_URL", "AzureWebJobsStorage", "D365_SYNC_LOCAL_RUNNER", "SYNC_CONFIG_PATH"]) delete base[name];
  const child = spawn(process.execPath, [join(root, "scripts/node22.mjs"), "--import", tsx, join(root, "shared/runtime/cli.ts"), ...args], {
    cwd, detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: { ...base, HOST: "127.0.0.1", D365_SYNC_TEST_MARKER: marker, ...env },
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
export function marked(marker: string): number[] {
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

/** The marked processes whose command line names `what` (e.g. "azurite"). */
export function markedRunning(marker: string, what: string): number[] {
  return marked(marker).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(what);
    } catch {
      return false;
    }
  });
}

/** Waits for a condition (never for a fixed time); fails naming what it waited for. */
export async function until(check: () => boolean | Promise<boolean>, what: () => string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** For afterEach: whatever a failed test left running (only the processes it started, by id). */
export function killStarted(): void {
  for (const s of started.splice(0)) {
    for (const pid of marked(s.marker)) {
      try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
    }
    rmSync(s.cwd, { recursive: true, force: true });
  }
}
