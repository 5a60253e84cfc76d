import { execFileSync, fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { WORKER_NODE_OPTIONS } from "../../shared/runtime/workerNodeOptions.js";
import type { WorkerJob, WorkerResult } from "./benchWorker.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const sourceWorker = fileURLToPath(new URL("./benchWorker.ts", import.meta.url));
const compiledWorker = `${root}.local/bench-dist/test/bench/benchWorker.js`;
/** BENCH_WORKER_TSX=1 runs the TypeScript sources through tsx instead (about 35 MB more resident memory). */
const fromSource = process.env.BENCH_WORKER_TSX === "1";

/**
 * Compiles the worker and the product code it runs (tsconfig.bench.json), so workers run plain
 * JavaScript as a Functions host would, not the tsx loader with its compiler in memory.
 */
export function prepareWorkers(): void {
  if (fromSource) return;
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", `${root}tsconfig.bench.json`], { cwd: root, stdio: "inherit" });
}

/**
 * Runs one job in a fresh Node process (the same runtime, with the V8 options the product ships:
 * WORKER_NODE_OPTIONS) and returns its answer. `onStart` gets the process id (to sample it from outside).
 */
export function runWorker(job: WorkerJob, onStart?: (pid: number) => void): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const extra = [...WORKER_NODE_OPTIONS.split(" "), ...(process.env.BENCH_WORKER_NODE_ARGS?.split(" ").filter(Boolean) ?? [])];
    const child = fromSource
      ? fork(sourceWorker, [], { execPath: process.execPath, execArgv: ["--import", "tsx", ...extra], stdio: ["ignore", "inherit", "inherit", "ipc"] })
      : fork(compiledWorker, [], { execPath: process.execPath, execArgv: extra, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    if (child.pid !== undefined) onStart?.(child.pid);
    let answer: WorkerResult | undefined;
    child.once("message", (m) => (answer = m as WorkerResult));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (answer?.error) reject(new Error(`bench worker failed: ${answer.error}`));
      else if (answer) resolve(answer);
      else reject(new Error(`bench worker exited with code ${code} and no result`));
    });
    child.send(job);
  });
}
