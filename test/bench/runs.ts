/**
 * `--runs N`: the benchmark runs N times, each in its own process (`--runs 1 --json`, its own
 * Azurite and emulators), and every figure is reported as the median of the N runs with its spread
 * (the smallest and largest value of the runs that measured it). A figure some runs did not measure
 * counts as "not reached" (larger than any value) and is listed in `notMeasured` with how many runs
 * lacked it; one whose median is "not reached" is absent.
 */
import { spawn } from "node:child_process";

export type Figures = { [key: string]: unknown };
export type Spread = { [key: string]: [number, number] | Spread };

/** Median of the values (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const isObject = (v: unknown): v is Figures => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Runs' figures, leaf by leaf: numbers become their median, their [min, max] goes to `spread`;
 * booleans hold only when they hold in every run (exactly once must be exactly once each time);
 * anything else is taken from the first run that has it.
 */
export function aggregateRuns(runs: readonly Figures[], path = ""): { median: Figures; spread: Spread; notMeasured: Record<string, number> } {
  const median_: Figures = {};
  const spread: Spread = {};
  const notMeasured: Record<string, number> = {};
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  for (const key of keys) {
    const values = runs.map((r) => r[key]).filter((v) => v !== undefined && v !== null);
    if (values.length === 0) continue;
    if (values.every((v) => typeof v === "number")) {
      // A figure some runs did not reach (a storm not settled, a recovery the load did not outlast)
      // counts as larger than any measured one: the median of {not reached, not reached, 3} is not reached.
      const nums = values as number[];
      const missing = runs.length - nums.length;
      if (missing) notMeasured[path + key] = missing;
      const m = median([...nums, ...new Array<number>(missing).fill(Infinity)]);
      if (Number.isFinite(m)) median_[key] = m;
      spread[key] = [Math.min(...nums), Math.max(...nums)];
    } else if (values.every((v) => typeof v === "boolean")) {
      median_[key] = values.every(Boolean);
    } else if (values.every(isObject)) {
      const inner = aggregateRuns(values, `${path}${key}.`);
      median_[key] = inner.median;
      if (Object.keys(inner.spread).length) spread[key] = inner.spread;
      Object.assign(notMeasured, inner.notMeasured);
    } else {
      median_[key] = values[0];
    }
  }
  return { median: median_, spread, notMeasured };
}

/** Lines `path: median (min–max)` for every numeric figure whose runs differ or agree. */
export function spreadLines(figures: Figures, spread: Spread, prefix = ""): string[] {
  const lines: string[] = [];
  for (const [key, s] of Object.entries(spread)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(s)) lines.push(`${path}: ${key in figures ? fmt(figures[key] as number) : "not reached"} (${fmt(s[0])}–${fmt(s[1])})`);
    else lines.push(...spreadLines(figures[key] as Figures, s, path));
  }
  return lines;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4))));

/**
 * Runs this benchmark `runs` times as child processes with the same arguments plus `--runs 1
 * --json`, passes their progress through to stderr, and returns each run's JSON line.
 */
export async function runRepeatedly(runs: number, args: readonly string[], log: (line: string) => void): Promise<Figures[]> {
  const results: Figures[] = [];
  const childArgs = [...withoutRuns(args), "--runs", "1", "--json"];
  for (let i = 0; i < runs; i++) {
    log(`run ${i + 1} of ${runs}`);
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...childArgs], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.setEncoding("utf8");
      // With --json a run writes its progress to stderr (passed through) and only the JSON line to stdout.
      child.stdout.on("data", (chunk: string) => (out += chunk));
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`benchmark run ${i + 1} exited with code ${code}`))));
    });
    const last = stdout.trim().split("\n").at(-1) ?? "";
    results.push(JSON.parse(last) as Figures);
  }
  return results;
}

function withoutRuns(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--runs") i += 1;
    else if (args[i].startsWith("--runs=")) continue;
    else if (args[i] !== "--json") out.push(args[i]);
  }
  return out;
}
