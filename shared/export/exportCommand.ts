import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type { Writable } from "node:stream";
import type { Services } from "../runtime/services.js";
import { ErrorCodes, SyncError } from "../errors.js";
import { EXPORT_SIDES, exportCsv, type ExportSide } from "./csvExport.js";

/**
 * `npm run export -- --mapping M [--side dataverse|app] [--out FILE]`: the same CSV as
 * GET /api/export/{mapping}.csv, to a file or stdout. Streamed: memory stays bounded at any size.
 */
export async function runExport(s: Services, opts: { mapping: string; side: string; out?: string }): Promise<void> {
  if (!(EXPORT_SIDES as readonly string[]).includes(opts.side)) {
    throw new SyncError("validation", ErrorCodes.InvalidSetting, `--side must be one of ${EXPORT_SIDES.join(", ")}, not "${opts.side}"`);
  }
  const csv = exportCsv(s, s.engine.mapping(opts.mapping), opts.side as ExportSide);
  const target: Writable = opts.out ? createWriteStream(opts.out) : process.stdout;
  await pipeline(csv, target);
}
