#!/usr/bin/env node
// The `d365-sync` command: runs the TypeScript CLI on Node 22 (see scripts/node22.mjs).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ensureDevEnvironment, node22Path, root } from "../scripts/devEnv.mjs";

const env = await ensureDevEnvironment();
const child = spawn(node22Path(), ["--import", "tsx", join(root, "shared/runtime/cli.ts"), ...process.argv.slice(2)], { stdio: "inherit", env });
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code) => process.exit(code ?? 1));
