import { Readable } from "node:stream";
import { jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import { adminGuard, invalid } from "./adminSupport.js";
import type { Services } from "../runtime/services.js";
import { EXPORT_SIDES, exportCsv, type ExportSide } from "../export/csvExport.js";

/** An HTTP answer whose body streams (the local runner and the Functions host pipe it). */
export type StreamResponse = ApiResponse & { body: ReadableStream<Uint8Array> };

/** GET /api/export/{mapping}.csv?side=dataverse|app — the mapping's records as CSV, streamed. */
export async function exportApi(req: ApiRequest, s: Services): Promise<ApiResponse | StreamResponse> {
  const file = req.params.file ?? "";
  if (!file.toLowerCase().endsWith(".csv")) return jsonError(404, "NOT_FOUND", "exports are served as /api/export/{mapping}.csv");
  const mapping = file.slice(0, -4);
  const denied = adminGuard(req, s, mapping);
  if (denied) return denied;
  const side = req.query.get("side") ?? "dataverse";
  if (!(EXPORT_SIDES as readonly string[]).includes(side)) return invalid([`side: must be one of ${EXPORT_SIDES.join(", ")}`]);
  const csv = exportCsv(s, s.engine.mapping(mapping), side as ExportSide);
  csv.on("error", (e) => s.logger.error("export failed while streaming", { mapping, side, error: e.message }));
  const name = `${mapping}-${side}.csv`;
  return {
    status: 200,
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${name}"`, "cache-control": "no-store" },
    body: Readable.toWeb(csv) as ReadableStream<Uint8Array>,
  };
}
