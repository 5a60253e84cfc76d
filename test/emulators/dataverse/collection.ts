import { encodeDeltaToken, type DeltaEntry } from "./changeTracking.js";
import { decodeURIComponentSafe, jsonResponse, rawParam, type CoreParts } from "./coreParts.js";
import { Errors } from "./dataverseErrors.js";
import { compileFilter } from "./odata/filter.js";
import { formatRow, parseOrderBy, parseSelect, selectSuffix } from "./odata/format.js";
import { buildSkipToken, parseSkipToken, type Snapshot } from "./odata/paging.js";
import { parsePrefer } from "./odata/prefer.js";
import type { TableDef } from "./schema.js";
import type { Row } from "./store.js";
import type { EmuRequest, EmuResponse } from "./types.js";

const MAX_PAGE = 5000;

/** GET `<set>`: queries, paging, and change tracking (initial sync and delta links). */
export function getCollection(req: EmuRequest, def: TableDef, core: CoreParts): EmuResponse {
  const q = req.url.searchParams;
  const prefs = parsePrefer(req.headers.prefer);
  const deltaToken = q.get("$deltatoken");
  const skipToken = q.get("$skiptoken");
  if (deltaToken !== null && !def.changeTracking) throw Errors.badQuery(`Change tracking is not enabled for the entity '${def.logicalName}'.`);
  // An untracked table ignores odata.track-changes (OData: unsupported preferences are ignored).
  let tracking = def.changeTracking && (prefs.trackChanges || deltaToken !== null);
  if (tracking) {
    for (const opt of ["$filter", "$orderby", "$expand", "$top"]) if (q.has(opt)) throw Errors.trackingOption(opt);
  }
  if (q.has("$expand")) throw Errors.badQuery("The emulator does not support $expand.");
  if (q.has("$skip")) throw Errors.badQuery("The query parameter $skip is not supported.");
  const columns = parseSelect(def, q.get("$select"));
  const pageSize = Math.min(prefs.maxPageSize ?? MAX_PAGE, MAX_PAGE);

  let snapshot: Snapshot;
  let offset = 0;
  let cursor: string | undefined;
  let page = 1;
  if (skipToken !== null) {
    const parsed = parseSkipToken(skipToken);
    const found = parsed ? core.cursors.get(parsed.cursor) : undefined;
    if (!parsed || !found) throw Errors.badQuery("The $skiptoken is not valid or has expired; run the query again.");
    ({ cursor, offset, page } = parsed);
    snapshot = found;
    // A tracked query stays tracked on its later pages even if the client drops the preference.
    tracking = snapshot.deltaVersion !== undefined;
  } else if (tracking) {
    const deltaVersion = core.store.currentVersion();
    const entries: DeltaEntry[] = deltaToken !== null
      ? core.tracking.entriesSince(def.logicalName, core.tracking.check(deltaToken))
      : sortedIds(core, def).map((id) => ({ id }));
    snapshot = { entries, deltaVersion, delta: deltaToken !== null };
  } else {
    snapshot = { entries: query(req, def, core).map((id) => ({ id })) };
  }

  const slice = snapshot.entries.slice(offset, offset + pageSize);
  const more = offset + pageSize < snapshot.entries.length;
  const set = def.entitySetName;
  const root = core.serviceRoot;
  const shape = { columns, annotations: prefs.annotations };
  const rows: string[] = [];
  for (const e of slice) {
    if (e.deleted) {
      rows.push(JSON.stringify({ "@odata.context": `${root}$metadata#${set}/$deletedEntity`, id: e.id, reason: "deleted" }));
      continue;
    }
    const row = core.store.get(def.logicalName, e.id);
    if (row) rows.push(JSON.stringify(formatRow(def, row, shape, core.store)));
  }
  const context = `${root}$metadata#${set}${selectSuffix(q.get("$select"))}${snapshot.delta ? "/$delta" : ""}`;
  let body = `{"@odata.context":${JSON.stringify(context)}`;
  if (q.get("$count") === "true" && !tracking) body += `,"@odata.count":${Math.min(snapshot.entries.length, MAX_PAGE)}`;
  body += `,"value":[${rows.join(",")}]`;
  if (more) {
    cursor ??= core.cursors.save(snapshot);
    const first = slice[0]?.id ?? "";
    const last = slice[slice.length - 1]?.id ?? "";
    const token = buildSkipToken({ page, cursor, offset: offset + pageSize, primaryId: def.primaryId, first, last, tracking });
    const params = req.url.search.replace(/^\?/, "").split("&").filter((p) => p && decodeURIComponentSafe(p.split("=")[0]) !== "$skiptoken");
    params.push(`$skiptoken=${encodeURIComponent(token)}`);
    body += `,"@odata.nextLink":${JSON.stringify(`${root}${set}?${params.join("&")}`)}`;
  } else if (tracking) {
    const select = rawParam(req.url, "$select");
    const token = encodeDeltaToken(core.tracking.newToken(snapshot.deltaVersion!));
    body += `,"@odata.deltaLink":${JSON.stringify(`${root}${set}?${select ? `${select}&` : ""}$deltatoken=${token}`)}`;
  }
  body += "}";

  const applied: string[] = [];
  if (tracking && prefs.trackChanges) applied.push("odata.track-changes");
  if (prefs.maxPageSize !== undefined) applied.push(`odata.maxpagesize=${prefs.maxPageSize}`);
  if (prefs.annotations !== undefined) applied.push(`odata.include-annotations="${prefs.annotations}"`);
  return jsonResponse(200, body, applied.length ? { "preference-applied": applied.join(",") } : {});
}

/** GET `<set>/$count`: the number of rows as plain text (capped at 5,000 like Dataverse). */
export function getCount(def: TableDef, core: CoreParts): EmuResponse {
  const n = core.store.table(def.logicalName)!.rows.size;
  return { status: 200, headers: { "content-type": "text/plain", "odata-version": "4.0" }, body: String(Math.min(n, MAX_PAGE)) };
}

function query(req: EmuRequest, def: TableDef, core: CoreParts): string[] {
  const q = req.url.searchParams;
  const filterText = q.get("$filter");
  const predicate = filterText ? compileFilter(filterText, def) : undefined;
  const order = parseOrderBy(def, q.get("$orderby"));
  const topText = q.get("$top");
  if (topText !== null && !/^\d+$/.test(topText)) throw Errors.badQuery(`Invalid value '${topText}' for $top.`);
  const pk = def.primaryId;
  const matched: Row[] = [];
  const named = filterText ? keyedIds(filterText, pk) : undefined;
  const candidates: Iterable<Row> = named ? named.flatMap((id): Row[] => { const row = core.store.get(def.logicalName, id); return row ? [row] : []; }) : core.store.rows(def.logicalName);
  for (const row of candidates) if (!predicate || predicate(row)) matched.push(row);
  // Dataverse orders by the primary key when no (or a tied) $orderby is given.
  matched.sort((a, b) => (order?.(a, b) || 0) || (String(a[pk]) < String(b[pk]) ? -1 : 1));
  const ids = matched.map((r) => String(r[pk]));
  return topText !== null ? ids.slice(0, Number(topText)) : ids;
}

/**
 * The ids a filter names when it is nothing but `<primary key> eq <guid>` joined by `or` (how clients
 * re-read rows by id): the rows are then found by key, as the service finds them through its primary
 * key index, instead of by testing every row of the table (a million-row table made each such read
 * cost the whole table). The filter is still applied to them, so the answer is the same.
 */
export function keyedIds(filterText: string, pk: string): string[] | undefined {
  const ids = new Set<string>();
  for (const part of filterText.split(/\s+or\s+/i)) {
    const m = /^\(?\s*([A-Za-z_][A-Za-z0-9_]*)\s+eq\s+([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\s*\)?$/.exec(part.trim());
    if (!m || m[1] !== pk) return undefined;
    ids.add(m[2].toLowerCase());
  }
  return [...ids];
}

function sortedIds(core: CoreParts, def: TableDef): string[] {
  return [...core.store.table(def.logicalName)!.rows.keys()].sort();
}
