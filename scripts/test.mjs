#!/usr/bin/env node
// `npm test`: type-check, then the whole vitest suite (unit + integration against Azurite and the
// emulators) on Node 22, then one plain `N passed, N failed` line that CI reads.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureDevEnvironment, node22Path, root } from "./devEnv.mjs";

const env = await ensureDevEnvironment();
const node = node22Path();
const extra = process.argv.slice(2);
let passed = 0;
let failed = 0;

if (!extra.length) {
  const tsc = spawnSync(node, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json", "--noEmit"], { stdio: "inherit", env, cwd: root });
  if (tsc.status === 0) passed += 1;
  else { failed += 1; console.error("type-check failed (counted as one failed test)"); }
}

const report = join(root, ".local", "vitest-report.json");
rmSync(report, { force: true });
const vitest = spawnSync(node, [join(root, "node_modules/vitest/vitest.mjs"), "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...extra], { stdio: "inherit", env, cwd: root });
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A file that fails to load has no tests in the count: count it as a failure.
  failed += (r.testResults ?? []).filter((f) => f.status === "failed" && (f.assertionResults ?? []).length === 0).length;
} else {
  failed += 1;
}
if (vitest.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
