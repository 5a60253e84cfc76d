import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { errorMessage, isSyncError } from "../errors.js";
import type { Services } from "../runtime/services.js";
import { jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import { adminGuard } from "./adminSupport.js";

/** The dashboard's files (shared/admin/): a fixed list, so no path from a request reaches the disk. */
const ASSETS: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "admin.js": "text/javascript; charset=utf-8",
  "admin.css": "text/css; charset=utf-8",
};

/** Beside this file in the repository (tsx) and in the deployed package (built next to dist/). */
const roots = () => [
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../admin"),
  path.resolve(process.cwd(), "shared/admin"),
];

/**
 * GET /api/admin and /api/admin/{file} — the dashboard. Served without a key: it holds no data,
 * and every figure it shows comes from the admin routes with the key the operator enters.
 */
export async function dashboardApi(req: ApiRequest): Promise<ApiResponse & { body?: string }> {
  const file = req.params.file || "index.html";
  const type = ASSETS[file];
  if (!type) return jsonError(404, "NOT_FOUND", `the dashboard has no file ${file}`);
  for (const root of roots()) {
    const text = await readFile(path.join(root, file), "utf8").catch(() => undefined);
    if (text === undefined) continue;
    return {
      status: 200, body: text,
      headers: {
        "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
      },
    };
  }
  return jsonError(404, "NOT_FOUND", `the dashboard file ${file} is not deployed`);
}

/** GET /api/admin/connectivity — can we get a token, reach Dataverse (WhoAmI), and read the app? */
export async function connectivityApi(req: ApiRequest, s: Services): Promise<ApiResponse> {
  const denied = adminGuard(req, s, undefined);
  if (denied) return denied;
  const firstEntity = s.config.mappings[0]?.app.entity;
  const [token, dataverse, app] = await Promise.all([
    probe(s, "token", () => s.checkToken()),
    probe(s, "dataverse", () => s.dataverse.whoAmI()),
    probe(s, "app", async () => {
      if (!firstEntity) return;
      for await (const _page of s.app.changes(firstEntity, undefined, 1)) break;
    }),
  ]);
  return { status: 200, headers: { "cache-control": "no-store" }, jsonBody: { checkedAt: new Date(s.clock.now()).toISOString(), token, dataverse, app } };
}

async function probe(s: Services, what: string, call: () => Promise<unknown>): Promise<{ ok: true } | { ok: false; code: string }> {
  try {
    await call();
    return { ok: true };
  } catch (e) {
    // The code only: a raw message may name internals.
    s.logger.warn(`connectivity: ${what} failed`, { error: errorMessage(e) });
    return { ok: false, code: isSyncError(e) ? e.code : "UNAVAILABLE" };
  }
}
