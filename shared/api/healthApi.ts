import { errorMessage, isSyncError } from "../errors.js";
import type { Cursor, DirectionKey, HealthRecord } from "../ports.js";
import type { Services } from "../runtime/services.js";
import type { ApiResponse } from "./apiTypes.js";
import { pendingFigures } from "../telemetry/syncMetrics.js";
import { Metrics } from "../telemetry/metrics.js";

/** Probes (load balancers, uptime checks) may call often; each answer is reused this long. */
export const HEALTH_CACHE_MS = 10_000;
/** A token endpoint that hangs must not hang the probe. */
export const TOKEN_CHECK_TIMEOUT_MS = 5_000;
const FAILED_RUNS_LIMIT = 2;
/** Runs of a mapping looked through (newest first) for its last reconciliation. */
const RECONCILE_LOOKBACK = 50;

export interface HealthOptions {
  cacheMs?: number;
}

type MappingStatus = "pending" | "healthy" | "degraded" | "unhealthy";

const cache = new WeakMap<Services, { at: number; answer: Promise<ApiResponse> }>();

/**
 * GET /api/health — per mapping and direction: last success, last run status, consecutive failures,
 * cursor (delta token) age and dead letters, the pending count and oldest pending age per direction,
 * the last reconciliation's divergence; whether a Dataverse token can be obtained, and when the
 * credential expires (`credential`, when known; also sent as the days-left metric). 200
 * when healthy (or pending before the first run), 503 after two consecutive failed runs of a
 * mapping, a last success older than the staleness limit, or no token. The route is anonymous, so
 * the answer names no secret and no raw error text (details go to the log). Answers are cached on
 * the services' clock so a busy probe cannot hammer the token endpoint or Table Storage.
 */
export function healthApi(s: Services, options: HealthOptions = {}): Promise<ApiResponse> {
  const now = s.clock.now();
  const hit = cache.get(s);
  if (hit && now >= hit.at && now - hit.at < (options.cacheMs ?? HEALTH_CACHE_MS)) return hit.answer;
  const answer = computeHealth(s, now).catch((e: unknown): ApiResponse => {
    s.logger.error("health could not be read", { error: errorMessage(e) });
    return { status: 503, jsonBody: { status: "unhealthy", checkedAt: new Date(now).toISOString(), problems: ["sync state could not be read"] } };
  });
  cache.set(s, { at: now, answer });
  return answer;
}

async function computeHealth(s: Services, now: number): Promise<ApiResponse> {
  const staleHours = s.config.options.stalenessHours;
  const problems: string[] = [];
  const [token, mappings, credential] = await Promise.all([
    checkToken(s),
    // F&O jobs are listed like mappings (their runs and health rows are keyed by the job's name).
    Promise.all([...s.engine.mappingNames, ...(s.config.finops ?? []).map((j) => j.name)].map((name) => mappingHealth(s, name, now, staleHours * 3_600_000, problems))),
    s.credentialExpiry.read(),
  ]);
  if (credential) s.telemetry.metric(Metrics.credentialDaysLeft, credential.daysLeft, { kind: credential.kind });
  if (!token.ok) problems.push(`no Dataverse token could be obtained (${token.code})`);
  const anyRun = mappings.some((m) => m.status !== "pending");
  const status = problems.length ? "unhealthy" : anyRun ? "healthy" : "pending";
  return {
    status: problems.length ? 503 : 200,
    headers: { "cache-control": "no-store" },
    jsonBody: { status, checkedAt: new Date(now).toISOString(), stalenessHours: staleHours, problems, token, ...(credential ? { credential: { ...credential, warningDays: s.config.options.credentialExpiryWarningDays } } : {}), mappings },
  };
}

async function checkToken(s: Services): Promise<{ ok: true } | { ok: false; code: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TOKEN_CHECK_TIMEOUT_MS} ms`)), TOKEN_CHECK_TIMEOUT_MS);
    timer.unref?.();
  });
  try {
    await Promise.race([s.checkToken(), timeout]);
    return { ok: true };
  } catch (e) {
    s.logger.warn("health: no Dataverse token", { error: errorMessage(e) });
    return { ok: false, code: isSyncError(e) ? e.code : "AUTH" };
  } finally {
    clearTimeout(timer);
  }
}

async function mappingHealth(s: Services, name: string, now: number, staleMs: number, problems: string[]) {
  const [toDataverse, toApp, dataverseCursor, appCursor, deadLetters, pending, runs] = await Promise.all([
    s.state.getHealth(name, "toDataverse"), s.state.getHealth(name, "toApp"),
    s.state.getCursor(name, "dataverse"), s.state.getCursor(name, "app"), s.state.countDeadLetters(name),
    pendingFigures(s.state, name, now), s.state.listRuns({ mapping: name, limit: RECONCILE_LOOKBACK }),
  ]);
  const reconciled = runs.find((r) => r.mode === "reconcile" && !r.dryRun && r.divergence && (r.status === "succeeded" || r.status === "completed_with_failures"));
  const lastReconcile = reconciled ? { runId: reconciled.runId, at: reconciled.finishedAt ?? reconciled.startedAt, divergence: reconciled.divergence } : null;
  // Changes flow toApp from the Dataverse delta token, and toDataverse from the app's cursor.
  const directions = {
    toDataverse: directionHealth(name, "toDataverse", toDataverse, appCursor, now, staleMs, problems),
    toApp: directionHealth(name, "toApp", toApp, dataverseCursor, now, staleMs, problems),
  };
  const statuses = [directions.toDataverse.status, directions.toApp.status];
  const status: MappingStatus = (["unhealthy", "degraded", "healthy", "pending"] as const).find((st) => statuses.includes(st)) ?? "pending";
  return { name, status, ...directions, deltaTokenAgeHours: ageHours(dataverseCursor, now), deadLetters, pending, lastReconcile };
}

function directionHealth(name: string, direction: DirectionKey, h: HealthRecord | null, cursor: Cursor | null, now: number, staleMs: number, problems: string[]) {
  const consecutiveFailures = h?.consecutiveFailures ?? 0;
  const sinceSuccess = h?.lastSuccessAt ? now - Date.parse(h.lastSuccessAt) : undefined;
  let status: MappingStatus = h?.lastRunAt ? "healthy" : "pending";
  if (consecutiveFailures >= FAILED_RUNS_LIMIT) {
    status = "unhealthy";
    problems.push(`${name} ${direction}: ${consecutiveFailures} consecutive failed runs`);
  } else if (sinceSuccess !== undefined && sinceSuccess > staleMs) {
    status = "unhealthy";
    problems.push(`${name} ${direction}: no successful sync for more than ${Math.round(staleMs / 3_600_000)} h`);
  } else if (consecutiveFailures > 0) {
    status = "degraded";
  }
  return {
    status, lastSuccessAt: h?.lastSuccessAt ?? null, lastRunAt: h?.lastRunAt ?? null, lastRunId: h?.lastRunId ?? null,
    lastRunStatus: h?.lastRunStatus ?? null, consecutiveFailures, cursorAgeHours: ageHours(cursor, now),
  };
}

function ageHours(cursor: Cursor | null, now: number): number | null {
  return cursor ? Math.round(((now - Date.parse(cursor.takenAt)) / 3_600_000) * 10) / 10 : null;
}
