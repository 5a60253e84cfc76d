import { errorMessage } from "../errors.js";
import type { DirectionKey } from "../ports.js";
import type { Services } from "../runtime/services.js";
import type { ApiResponse } from "./apiTypes.js";

/**
 * GET /api/health — per mapping and direction: last success, last run status, consecutive failures,
 * delta-token age and dead letters; plus whether a Dataverse token can be obtained. 200 when
 * healthy (or pending before the first run), 503 otherwise, with the reasons.
 */
export async function healthApi(s: Services): Promise<ApiResponse> {
  const now = s.clock.now();
  const staleMs = s.config.options.stalenessHours * 3_600_000;
  const problems: string[] = [];
  let token: { ok: boolean; error?: string } = { ok: true };
  try {
    await s.checkToken();
  } catch (e) {
    token = { ok: false, error: errorMessage(e) };
    problems.push(`no Dataverse token: ${token.error}`);
  }
  const mappings = [];
  let anyRun = false;
  for (const name of s.engine.mappingNames) {
    const directions: Record<string, unknown> = {};
    for (const direction of ["toDataverse", "toApp"] as DirectionKey[]) {
      const h = await s.state.getHealth(name, direction);
      if (h?.lastRunAt) anyRun = true;
      const consecutiveFailures = h?.consecutiveFailures ?? 0;
      const age = h?.lastSuccessAt ? now - Date.parse(h.lastSuccessAt) : undefined;
      if (consecutiveFailures >= 2) problems.push(`${name} ${direction}: ${consecutiveFailures} consecutive failed runs`);
      if (h?.lastRunAt && (age === undefined || age > staleMs)) problems.push(`${name} ${direction}: no successful sync within ${s.config.options.stalenessHours} h`);
      directions[direction] = {
        lastSuccessAt: h?.lastSuccessAt ?? null, lastRunAt: h?.lastRunAt ?? null, lastRunId: h?.lastRunId ?? null,
        lastRunStatus: h?.lastRunStatus ?? null, consecutiveFailures,
      };
    }
    const cursor = await s.state.getCursor(name, "dataverse");
    mappings.push({
      name, ...directions,
      deltaTokenAgeHours: cursor ? Math.round(((now - Date.parse(cursor.takenAt)) / 3_600_000) * 10) / 10 : null,
      deadLetters: await s.state.countDeadLetters(name),
    });
  }
  const status = problems.length ? "unhealthy" : anyRun ? "healthy" : "pending";
  return { status: problems.length ? 503 : 200, jsonBody: { status, checkedAt: new Date(now).toISOString(), problems, token, mappings } };
}
