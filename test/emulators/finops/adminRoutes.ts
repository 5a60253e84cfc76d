/**
 * The control API under `/_emulator/` for the standalone emulator (what tests do in-process):
 * define jobs and projects, seed exports, read imported rows and messages, move time, throttle.
 * No token: like the Dataverse emulator's control API, it is for a local machine only.
 */
import type { FoRequest } from "./context.js";
import type { FinopsEmulator } from "./emulator.js";
import { json, type FinopsJob, type FinopsProject, type FoResponse, type Row } from "./types.js";

export async function handleAdmin(req: FoRequest, emulator: FinopsEmulator): Promise<FoResponse> {
  const path = req.path.slice("/_emulator".length);
  try {
    const body = req.body.length ? (JSON.parse(req.body.toString("utf8")) as unknown) : undefined;
    const exportMatch = /^\/exports\/([^/]+)$/.exec(path);
    if (req.method === "GET" && path === "/messages") return json(200, emulator.messages());
    if (req.method === "GET" && path === "/log") return json(200, emulator.requestLog());
    if (req.method === "GET" && path === "/imports") return json(200, emulator.importedRows(req.url.searchParams.get("entity") ?? ""));
    if (req.method === "POST" && path === "/jobs") return done(() => emulator.defineJob(body as FinopsJob));
    if (req.method === "POST" && path === "/projects") return done(() => emulator.defineProject(body as FinopsProject));
    if (req.method === "POST" && exportMatch) return json(201, { messageId: emulator.seedExport(decodeURIComponent(exportMatch[1]), body as Row[]) });
    if (req.method === "POST" && path === "/advance") return done(() => emulator.advance(Number((body as { ms?: unknown })?.ms ?? 0)));
    if (req.method === "POST" && path === "/throttle") return done(() => emulator.throttle(body as Parameters<FinopsEmulator["throttle"]>[0]));
    return json(404, { error: `no control route ${req.method} ${path}` });
  } catch (err) {
    return json(400, { error: err instanceof Error ? err.message : String(err) });
  }
}

function done(fn: () => void): FoResponse {
  fn();
  return { status: 204 };
}
