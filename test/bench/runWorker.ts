import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { WorkerJob, WorkerResult } from "./benchWorker.js";

const workerPath = fileURLToPath(new URL("./benchWorker.ts", import.meta.url));

/** Runs one job in a fresh Node process (same runtime, tsx loader) and returns its answer. */
export function runWorker(job: WorkerJob): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = fork(workerPath, [], { execPath: process.execPath, execArgv: ["--import", "tsx", ...(process.env.BENCH_WORKER_NODE_ARGS?.split(" ").filter(Boolean) ?? [])], stdio: ["ignore", "inherit", "inherit", "ipc"] });
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
