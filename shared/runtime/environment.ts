import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

/** Written by `npm start` with the settings of the local stack it runs, for `npm run sync` next to it. */
export const STACK_ENV_FILE = ".local/stack.env";

/**
 * The settings environment: the process environment wins, then `local.settings.json` Values (the
 * Functions convention), then the running local stack's `.local/stack.env`.
 */
export function loadEnvironment(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env, options: { includeStack?: boolean } = {}): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = {};
  const stackFile = resolve(cwd, STACK_ENV_FILE);
  if (options.includeStack !== false && existsSync(stackFile)) {
    const stack = parseEnvFile(readFileSync(stackFile, "utf8"));
    // A file left behind by a stack that was killed points at nothing: ignore it.
    if (processAlive(Number(stack[STACK_PID]))) {
      delete stack[STACK_PID];
      Object.assign(merged, stack);
    }
  }
  const localSettings = resolve(cwd, "local.settings.json");
  if (existsSync(localSettings)) {
    const json = JSON.parse(readFileSync(localSettings, "utf8")) as { Values?: Record<string, unknown> };
    for (const [k, v] of Object.entries(json.Values ?? {})) if (typeof v === "string") merged[k] = v;
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return merged;
}

/** The pid of the `npm start` process that wrote the stack file. */
export const STACK_PID = "D365_SYNC_STACK_PID";

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2];
    if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    out[m[1]] = value;
  }
  return out;
}

export function formatEnvFile(values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => `${k}='${v.replace(/'/g, "")}'`).join("\n") + "\n";
}
