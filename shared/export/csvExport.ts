import { Readable } from "node:stream";
import { stringify } from "csv-stringify";
import type { FieldMapping } from "../config/mapping.js";
import { FORMATTED_VALUE } from "../dataverse/readers.js";
import type { AppClient, DataverseClient, DataverseRow } from "../ports.js";
import type { CompiledMapping } from "../sync/compiledMapping.js";
import { APP_ID_FIELD } from "../sync/compiledMapping.js";
import { appToCanonical, dataverseToCanonical, lookupReadProperty } from "../sync/values.js";

export type ExportSide = "dataverse" | "app";
export const EXPORT_SIDES: readonly ExportSide[] = ["dataverse", "app"];

/** Rows per Dataverse page and records per app page: what the export holds in memory at most. */
export const EXPORT_PAGE_SIZE = 1000;

export interface ExportDeps {
  dataverse: Pick<DataverseClient, "query">;
  app: Pick<AppClient, "changes">;
}

const isReference = (f: FieldMapping) => f.type === "lookup" || f.type === "owner";

/**
 * A mapping's records as CSV for Dataverse's Import Data wizard (or a spreadsheet): UTF-8 with a BOM,
 * a header of Dataverse logical names (side `dataverse`, the primary id first) or app field names
 * (side `app`), choices as their labels (side `dataverse`: Dataverse's own labels, as the wizard
 * matches them; side `app`: the mapping's names), dates and times as ISO 8601, several choices joined by `;`.
 * Read page by page and written as the consumer reads, so memory stays bounded whatever the size.
 */
export function exportCsv(deps: ExportDeps, m: CompiledMapping, side: ExportSide): Readable {
  const fields = m.fields;
  const header = side === "dataverse" ? [m.primaryId, ...fields.map((f) => f.dataverse)] : fields.map((f) => f.app);
  const rows = side === "dataverse" ? dataverseRows(deps, m) : appRows(deps, m);
  const csv = stringify({ bom: true, header: true, columns: header, cast: { boolean: (v) => String(v), date: (d) => d.toISOString() } });
  const source = Readable.from(rows);
  source.on("error", (e) => csv.destroy(e));
  return source.pipe(csv);
}

async function* dataverseRows(deps: ExportDeps, m: CompiledMapping): AsyncGenerator<unknown[]> {
  const select = [m.primaryId, ...m.fields.map((f) => (isReference(f) ? lookupReadProperty(f) : f.dataverse))];
  for await (const page of deps.dataverse.query(m.mapping.dataverse.entitySet, { select: [...new Set(select)], pageSize: EXPORT_PAGE_SIZE, formattedValues: true })) {
    for (const row of page) yield [row[m.primaryId], ...m.fields.map((f) => dataverseCell(f, row))];
  }
}

async function* appRows(deps: ExportDeps, m: CompiledMapping): AsyncGenerator<unknown[]> {
  for await (const page of deps.app.changes(m.mapping.app.entity, undefined, EXPORT_PAGE_SIZE)) {
    for (const r of page.records) {
      if (r.deleted || !r.data) continue;
      yield m.fields.map((f) => (f.app === APP_ID_FIELD ? r.id : cell(f, r.data![f.app], (v) => appToCanonical(f, v))));
    }
  }
}

const isChoice = (f: FieldMapping) => f.type === "choice" || f.type === "multichoice" || f.type === "status";

function dataverseCell(f: FieldMapping, row: DataverseRow): unknown {
  if (isReference(f)) return row[lookupReadProperty(f)] ?? null;
  if (isChoice(f) && row[f.dataverse] !== null && row[f.dataverse] !== undefined) {
    // The wizard matches choices by their Dataverse label ("Active"), which Dataverse sends as the
    // value's formatted text; several are joined by "; ". Without it, the mapping's own name.
    const label = row[`${f.dataverse}${FORMATTED_VALUE}`];
    if (typeof label === "string" && label) return f.type === "multichoice" ? label.split(/;\s*/).join(";") : label;
  }
  return cell(f, row[f.dataverse], (v) => dataverseToCanonical(f, v));
}

/**
 * The canonical form is the export's form (choice labels, ISO dates); a value the mapping cannot
 * read (a choice outside its map) is written as it is rather than dropped.
 */
function cell(f: FieldMapping, raw: unknown, canonical: (v: unknown) => unknown): unknown {
  if (raw === null || raw === undefined) return null;
  let value: unknown;
  try {
    value = canonical(raw);
  } catch {
    value = raw;
  }
  if (Array.isArray(value)) return value.join(";");
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return value;
}
