/**
 * A throttling storm: while d365-sync bulk-writes contacts (one worker process, the shared budget),
 * another client with the SAME identity takes 50 %, 75 % and 100 % of the window's execution time
 * in turn for `stormWindows` windows, with CreateMultiple calls on another table that it sends again
 * after Retry-After, as any client does. Measured from the emulator's own records: our requests and
 * 429s (request log, contacts only) and our records committed (its change events).
 *   settleS:  from the storm's start until our 429 share, over the last window, stays below 5 %
 *             for the rest of the storm (0 when it never reached 5 %); absent when it had not, or
 *             when our load ended during the storm after a window at 5 % or more, or when we sent
 *             fewer than 20 requests in the rest of the storm (a share below 5 % is not shown by
 *             fewer: one refusal among them is 5 % or more, and windows we sent nothing in are
 *             skipped, so a quiet stretch at the storm's end read as settled);
 *   recoverS: from the storm's end until our records per window are back at 90 % of the rate we
 *             had before it (absent when the load ended first).
 * Both in simulated seconds (the service's time).
 */
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import type { EmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { executionCostMs, resolveThrottleOptions, type ThrottleOptionsInput } from "../emulators/dataverse/throttleModel.js";
import { budgetLimits } from "./ceiling.js";
import { PeerHttp } from "./peers/peerKit.js";
import { runWorker } from "./runWorker.js";

export interface StormOptions {
  stack: () => Promise<EmulatorStack>;
  config: SyncConfigInput;
  tablePrefix: string;
  bulkSize: number;
  limits: ThrottleOptionsInput;
  windowRealMs: number;
  meterExecution: boolean;
  /** Contacts our worker writes: enough to outlast the storm and the recovery after it. */
  records: number;
  preWindows: number;
  stormWindows: number;
  log: (line: string) => void;
}

export interface StormResult {
  settleS?: number;
  /** Our requests sent from the settle point (or the last window at 5 % or more) to the storm's end: the evidence for settleS. */
  requestsAfterSettle: number;
  recoverS?: number;
  /** The storm's length, simulated seconds. */
  stormS: number;
  /** Our 429s / our requests during the storm. */
  throttledShare: number;
  /** Records per window before the storm (the recovery's yardstick) and in the worst storm window. */
  beforePerWindow: number;
  worstPerWindow: number;
  foreignRequests: number;
}

const STORM_SHARES = [0.5, 0.75, 1] as const;
const FOREIGN_CALL_TARGETS = 500;
const SETTLED_SHARE = 0.05;
/** Requests it takes to show a share below SETTLED_SHARE: with fewer, a single refusal is already at it. */
const SETTLE_EVIDENCE = Math.ceil(1 / SETTLED_SHARE);
const RECOVERED = 0.9;

export async function measureStorm(o: StormOptions): Promise<StormResult> {
  const stack = await o.stack();
  try {
    const commits: number[] = [];
    const unsubscribe = stack.dataverse.ctx.onChange((e) => {
      if (e.table === "contact" && e.message === "Create") commits.push(Date.now());
    });
    const w = o.windowRealMs;
    const startAt = Date.now() + 3_000;
    const stormStart = startAt + o.preWindows * w;
    const stormEnd = stormStart + o.stormWindows * w;
    const budget = { tableName: `budgetstorm${Date.now().toString(36)}`, ...budgetLimits(o.limits, o.meterExecution) };
    const ours = runWorker({
      kind: "write", env: stack.env, config: o.config, tablePrefix: o.tablePrefix, bulkSize: o.bulkSize, budget, startAt, from: 0, to: o.records,
      serviceClock: { timeScale: resolveThrottleOptions(o.limits).timeScale, epochMs: startAt },
    });
    const foreign = foreignLoad(stack, o, stormStart);
    const result = await ours;
    const foreignRequests = await foreign;
    unsubscribe();
    if (result.failed) o.log(`storm: ${result.failed} of our records failed`);
    const ourEnd = result.startedAt + result.ms;

    const ourRequests = stack.dataverse.log.entries().filter((e) => !e.inBatch && e.method === "POST" && /\/contacts\//.test(e.path));
    const timeline: StormTimeline = {
      ours: ourRequests, commits, startAt, stormStart, stormEnd, ourEnd, windowRealMs: w, timeScale: resolveThrottleOptions(o.limits).timeScale, preWindows: o.preWindows,
    };
    if (process.env.BENCH_DEBUG) o.log(`storm, our requests/429s per half window (simulated s from its start): ${stormHalves(timeline)}`);
    const figures = stormFigures(timeline);
    return { ...figures, foreignRequests };
  } finally {
    await stack.stop();
  }
}

/** What the storm's figures are computed from: real ms throughout. */
export interface StormTimeline {
  /** Our requests (arrival time, status), in any order. */
  ours: readonly { at: number; status: number }[];
  /** When each of our records was committed. */
  commits: readonly number[];
  startAt: number;
  stormStart: number;
  stormEnd: number;
  /** When our load ended: the recovery must be seen before it. */
  ourEnd: number;
  windowRealMs: number;
  /** Simulated seconds per real second. */
  timeScale: number;
  preWindows: number;
}

/** BENCH_DEBUG: our requests and 429s per half window, from two windows before the storm to two after it (simulated s at each half's end). */
export function stormHalves(t: StormTimeline): string {
  const step = t.windowRealMs / 2;
  const halves: string[] = [];
  for (let end = t.stormStart - 2 * t.windowRealMs + step; end <= Math.min(t.stormEnd + 2 * t.windowRealMs, t.ourEnd); end += step) {
    const sent = t.ours.filter((e) => e.at > end - step && e.at <= end);
    halves.push(`${((end - t.stormStart) * t.timeScale / 1000).toFixed(1)}:${sent.length}/${sent.filter((e) => e.status === 429).length}`);
  }
  return halves.join(" ");
}

/** settleS, recoverS and the rest, from the timeline (see the file's comment), at half-window steps. */
export function stormFigures(t: StormTimeline): Omit<StormResult, "foreignRequests"> {
  const w = t.windowRealMs;
  const step = w / 2;
  const toSimS = (realMs: number) => (realMs * t.timeScale) / 1000;
  const inWindow = <T>(items: readonly T[], at: (x: T) => number, end: number) => items.filter((x) => at(x) > end - w && at(x) <= end);

  const during = t.ours.filter((e) => e.at >= t.stormStart && e.at < t.stormEnd);
  let lastBad: number | undefined;
  let unsettledAtEnd = false;
  // Only while our load still runs: a window we sent nothing in is no evidence of settling.
  for (let end = t.stormStart + step; end <= Math.min(t.stormEnd, t.ourEnd); end += step) {
    const seen = inWindow(t.ours, (e) => e.at, end);
    if (seen.length === 0) continue;
    const share = seen.filter((e) => e.status === 429).length / seen.length;
    if (share >= SETTLED_SHARE) lastBad = end;
    unsettledAtEnd = share >= SETTLED_SHARE;
  }
  const endedEarly = t.ourEnd < t.stormEnd && lastBad !== undefined;
  const settledFrom = lastBad ?? t.stormStart;
  const requestsAfterSettle = t.ours.filter((e) => e.at > settledFrom && e.at < Math.min(t.stormEnd, t.ourEnd)).length;
  const shown = requestsAfterSettle >= SETTLE_EVIDENCE;
  const settleS = unsettledAtEnd || endedEarly || !shown ? undefined : lastBad === undefined ? 0 : toSimS(lastBad - t.stormStart);

  // Before the storm: windows 2… (the first window is the fresh window's burst).
  const beforePerWindow = t.preWindows > 1
    ? t.commits.filter((at) => at >= t.startAt + w && at < t.stormStart).length / (t.preWindows - 1)
    : t.commits.filter((at) => at < t.stormStart).length;
  let worstPerWindow = Infinity;
  for (let end = t.stormStart + w; end <= t.stormEnd; end += step) worstPerWindow = Math.min(worstPerWindow, inWindow(t.commits, (x) => x, end).length);
  let recoverS: number | undefined;
  for (let end = t.stormEnd + step; end <= t.ourEnd; end += step) {
    if (inWindow(t.commits, (x) => x, end).length >= RECOVERED * beforePerWindow) {
      recoverS = toSimS(end - t.stormEnd);
      break;
    }
  }
  return {
    settleS, requestsAfterSettle, recoverS, stormS: toSimS(t.stormEnd - t.stormStart),
    throttledShare: during.length ? during.filter((e) => e.status === 429).length / during.length : 0,
    beforePerWindow, worstPerWindow: Number.isFinite(worstPerWindow) ? worstPerWindow : 0,
  };
}

/**
 * The foreign client: in storm window k it sends CreateMultiple calls on hlf_mentorgroups worth
 * 50 / 75 / 100 % of the window's execution time, spread over the window; when the storm ends, what
 * it still has to send (retries included) is dropped.
 */
async function foreignLoad(stack: EmulatorStack, o: StormOptions, stormStart: number): Promise<number> {
  const limits = resolveThrottleOptions(o.limits);
  const http = new PeerHttp(stack.env, limits.timeScale);
  const stop = new AbortController();
  const sent: Promise<unknown>[] = [];
  let code = 0;
  const perTarget = executionCostMs(limits.cost, "bulk", 1);
  await new Promise((r) => setTimeout(r, Math.max(0, stormStart - Date.now())));
  for (let k = 0; k < o.stormWindows; k++) {
    const targets = Math.floor((STORM_SHARES[k % STORM_SHARES.length] * limits.maxExecutionMs) / perTarget);
    const calls = Math.max(1, Math.ceil(targets / FOREIGN_CALL_TARGETS));
    for (let c = 0; c < calls; c++) {
      const at = stormStart + k * o.windowRealMs + (c * o.windowRealMs) / calls;
      await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
      const n = Math.min(FOREIGN_CALL_TARGETS, targets - c * FOREIGN_CALL_TARGETS);
      const Targets = Array.from({ length: n }, () => ({ "@odata.type": "Microsoft.Dynamics.CRM.hlf_mentorgroup", hlf_name: "storm", hlf_groupcode: `storm-${code++}` }));
      sent.push(http.send("hlf_mentorgroups/Microsoft.Dynamics.CRM.CreateMultiple", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ Targets }), signal: stop.signal,
      }).catch(() => undefined));
    }
  }
  await new Promise((r) => setTimeout(r, Math.max(0, stormStart + o.stormWindows * o.windowRealMs - Date.now())));
  stop.abort();
  await Promise.all(sent);
  return http.requests;
}
