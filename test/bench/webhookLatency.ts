/**
 * Webhook latency: a person edits contacts in Dataverse at bursts of R edits per second; the
 * emulator delivers each change to the functions' Dataverse webhook on the local runner
 * (shared/runtime/localRunner.ts), which queues it in Azurite, and the queue worker writes the
 * mentor in the sample app. Latency of one edit = the app's arrival time of that write minus the
 * commit of the change in the emulator, which is when its webhook delivery starts. Service
 * protection is off here: this measures the pipeline, not throttling.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { loadSettings } from "../../shared/config/settings.js";
import { parseSyncConfig } from "../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import { Settings } from "../../shared/names.js";
import type { Logger } from "../../shared/ports.js";
import { startEmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { startLocalRunner } from "../../shared/runtime/localRunner.js";
import { createServices } from "../../shared/runtime/services.js";
import { GROUPS, groupId, mentorId, mentorRecord } from "./benchData.js";

export interface BurstLatency {
  perSecond: number;
  sent: number;
  /** Edits whose write reached the app. */
  delivered: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * CPU time per edit of the emulators, the sample app and the runner (all but Azurite), from the
   * first edit until the last write arrived or the wait ended: what the pipeline costs, whatever
   * else the machine is running.
   */
  cpuMsPerEdit?: number;
  /** The machine's 1-minute load average when the burst ended (2 cores here: above 2, other work competed). */
  loadAverage?: number;
}

export interface WebhookLatency {
  bursts: BurstLatency[];
}

export interface WebhookOptions {
  storage: string;
  config: SyncConfigInput;
  /** Edits per second in each measurement (one burst at the start of every second). */
  rates: readonly number[];
  seconds: number;
  /** How long to wait for the last writes after the last burst. */
  drainMs?: number;
  log: (line: string) => void;
  /**
   * Where the Functions app runs: in a process of its own (default, as in production, where
   * Dataverse and the app are elsewhere), or in this one, beside the emulators and the sample app.
   */
  runner?: "child" | "inline";
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export async function measureWebhookLatency(o: WebhookOptions): Promise<WebhookLatency> {
  const mentors = o.rates.reduce((s, r) => s + r * o.seconds, 0);
  const stack = await startEmulatorStack({ storageConnectionString: o.storage, seed: false });
  const prefix = `wh${Date.now().toString(36)}`;
  try {
    for (let g = 0; g < GROUPS; g++) stack.app.put("group", groupId(g), { name: `Group ${g}`, region: `Region ${g % 4}` });
    for (let i = 0; i < mentors; i++) {
      const r = mentorRecord(i);
      stack.app.put("mentor", r.id, r.data);
    }
    const runner = await (o.runner === "inline" ? inlineRunner : childRunner)(stack.env, o.config, prefix);
    try {
      const contactOf = new Map<string, string>();
      for (const row of stack.dataverse.rows("contact")) if (typeof row.hlf_mentorid === "string") contactOf.set(row.hlf_mentorid, String(row.contactid));
      if (contactOf.size < mentors) throw new Error(`webhook latency: the first sync linked ${contactOf.size} of ${mentors} mentors`);
      stack.dataverse.webhooks.register({
        table: "contact", messages: ["Update"], url: `${runner.url}/api/webhooks/dataverse`,
        authType: "WebhookKey", authValue: stack.env[Settings.dataverseWebhookKey],
      });

      const bursts: BurstLatency[] = [];
      let next = 0;
      for (const rate of o.rates) {
        const edits: { id: string; value: string; at: number }[] = [];
        const cpuBefore = process.cpuUsage();
        const runnerCpuBefore = runner.cpuMs();
        const started = Date.now();
        for (let s = 0; s < o.seconds; s++) {
          await new Promise((r) => setTimeout(r, Math.max(0, started + s * 1000 - Date.now())));
          for (let j = 0; j < rate; j++) {
            const id = mentorId(next);
            const value = `Burst${next++}`;
            edits.push({ id, value, at: Date.now() });
            stack.dataverse.ctx.ops.update("contact", contactOf.get(id)!, { firstname: value }, stack.person.userId);
          }
        }
        await stack.dataverse.webhooks.idle();
        const deadline = Date.now() + (o.drainMs ?? 60_000);
        while (Date.now() < deadline && edits.some((e) => stack.app.get("mentor", e.id)?.data?.firstName !== e.value)) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const cpu = process.cpuUsage(cpuBefore);
        const runnerCpuMs = runner.cpuMs() - runnerCpuBefore;
        const cpuMs = (cpu.user + cpu.system) / 1000 + runnerCpuMs;
        const b = { ...burstLatency(rate, edits, stack.app.requests), cpuMsPerEdit: Math.round((100 * cpuMs) / edits.length) / 100, loadAverage: loadavg()[0] };
        bursts.push(b);
        o.log(`webhook latency at ${rate}/s for ${o.seconds} s: p50 ${b.p50Ms} ms, p95 ${b.p95Ms} ms, p99 ${b.p99Ms} ms, max ${b.maxMs} ms, ${b.delivered} of ${b.sent} written; ${b.cpuMsPerEdit} ms CPU per edit (${(runnerCpuMs / edits.length).toFixed(1)} of them the runner's when it runs apart), load average ${b.loadAverage.toFixed(1)}`);
      }
      return { bursts };
    } finally {
      await runner.stop();
    }
  } finally {
    await stack.stop();
  }
}

/** The local runner in this process, after the first sync. */
async function inlineRunner(env: Record<string, string>, config: SyncConfigInput, prefix: string): Promise<BenchRunner> {
  const services = await createServices({
    settings: loadSettings(env), config: parseSyncConfig(config, "bench config"), queues: "storage", logger: quiet, tablePrefix: prefix, queuePrefix: `${prefix}-`,
  });
  const runner = await startLocalRunner(services, { host: "127.0.0.1", port: 0, schedule: "" });
  await services.engine.startRuns({ mode: "delta", dryRun: false, trigger: "startup" });
  await runner.idle();
  return { url: runner.url, stop: () => runner.stop(), cpuMs: () => 0 };
}

/** The local runner in a process of its own (webhookRunner.ts), after the first sync. */
async function childRunner(env: Record<string, string>, config: SyncConfigInput, prefix: string): Promise<BenchRunner> {
  const script = fileURLToPath(new URL("./webhookRunner.ts", import.meta.url));
  // WEBHOOK_RUNNER_CPU_PROF=<dir>: the runner writes a V8 CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.WEBHOOK_RUNNER_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.WEBHOOK_RUNNER_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", script, JSON.stringify({ prefix, config })], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^ready (\S+)$/m.exec(out);
      if (ready) resolve(ready[1]);
    });
    child.once("exit", (code) => reject(new Error(`the webhook runner process exited (${code}) before it was ready`)));
  });
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
    // utime and stime, in clock ticks (100 a second on Linux), from /proc.
    cpuMs: () => {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ").pop()!.split(" ");
        return (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        return 0;
      }
    },
  };
}

/** The Functions app the measurement sends its webhooks to; `cpuMs`: its CPU time when it runs in another process. */
interface BenchRunner {
  url: string;
  stop(): Promise<void>;
  cpuMs(): number;
}

/** Each edit's latency: the first app write of that mentor carrying the edit's value, after the edit. */
export function burstLatency(
  perSecond: number,
  edits: readonly { id: string; value: string; at: number }[],
  requests: readonly { method: string; path: string; body: unknown; status: number; at: number }[],
): BurstLatency {
  const firstWrite = new Map<string, number>();
  const wanted = new Map(edits.map((e) => [e.id, e]));
  for (const r of requests) {
    if (r.method === "GET" || r.status >= 300) continue;
    const id = decodeURIComponent(/^\/sync\/mentor\/([^/?]+)/.exec(r.path)?.[1] ?? "");
    const edit = wanted.get(id);
    const body = r.body as { data?: { firstName?: unknown }; firstName?: unknown } | undefined;
    const value = body?.data?.firstName ?? body?.firstName;
    if (!edit || value !== edit.value || r.at < edit.at || firstWrite.has(id)) continue;
    firstWrite.set(id, r.at - edit.at);
  }
  const latencies = [...firstWrite.values()].sort((a, b) => a - b);
  return {
    perSecond, sent: edits.length, delivered: latencies.length,
    p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), p99Ms: percentile(latencies, 99), maxMs: latencies.at(-1) ?? Number.NaN,
  };
}
