import { ErrorCodes, SyncError } from "../errors.js";
import type { ChangePage, DataverseRow } from "../ports.js";
import type { DataverseTransport } from "./dataverseTransport.js";
import { checkName, queryString } from "./odataUrl.js";

interface CollectionPage {
  value?: DataverseRow[];
  "@odata.nextLink"?: string;
  "@odata.deltaLink"?: string;
}

const defaultPageSize = 5_000;

function pageSizeOf(n: number | undefined): number {
  const size = n ?? defaultPageSize;
  if (!Number.isInteger(size) || size < 1 || size > 5_000) throw new SyncError("validation", ErrorCodes.BadRequest, `pageSize must be 1..5000, got ${n}`);
  return size;
}

function selectOf(select: string[] | undefined): string | undefined {
  return select?.length ? select.map((c) => checkName(c, "column")).join(",") : undefined;
}

export interface QueryOptions {
  select?: string[];
  filter?: string;
  orderBy?: string;
  top?: number;
  pageSize?: number;
}

/** Pages of rows; `@odata.nextLink` is followed unchanged with the same maxpagesize. */
export async function* queryPages(t: DataverseTransport, entitySet: string, options: QueryOptions): AsyncIterable<DataverseRow[]> {
  const prefer = `odata.maxpagesize=${pageSizeOf(options.pageSize)}`;
  let path: string | undefined =
    checkName(entitySet, "entity set") +
    queryString({ $select: selectOf(options.select), $filter: options.filter, $orderby: options.orderBy, $top: options.top });
  let remaining = options.top;
  while (path) {
    const res = await t.send({ method: "GET", path, headers: { Prefer: prefer } });
    const page = res.json<CollectionPage>();
    let rows = page.value ?? [];
    // Dataverse ignores $top together with maxpagesize, so the limit is enforced here too.
    if (remaining !== undefined) {
      rows = rows.slice(0, remaining);
      remaining -= rows.length;
    }
    if (rows.length > 0) yield rows;
    path = remaining === 0 ? undefined : page["@odata.nextLink"];
  }
}

function isDeletedEntity(entry: DataverseRow): boolean {
  const ctx = entry["@odata.context"];
  return typeof ctx === "string" && ctx.endsWith("$deletedEntity");
}

/**
 * Change-tracking read. The initial read asks for `odata.track-changes`; later reads GET the delta
 * link. Each page is yielded as it arrives; the delta link comes with the last page. A table that is
 * not change-tracked answers without a deltaLink or Preference-Applied: its pages carry no link.
 */
export async function* readChangePages(
  t: DataverseTransport,
  entitySet: string,
  options: { select: string[]; deltaLink?: string; pageSize?: number },
): AsyncIterable<ChangePage> {
  const prefer = `odata.track-changes,odata.maxpagesize=${pageSizeOf(options.pageSize)}`;
  let path: string | undefined = options.deltaLink ?? checkName(entitySet, "entity set") + queryString({ $select: selectOf(options.select) });
  let tracked = false;
  while (path) {
    const res = await t.send({ method: "GET", path, headers: { Prefer: prefer } });
    if (/odata\.track-changes/i.test(res.headers.get("preference-applied") ?? "")) tracked = true;
    const body = res.json<CollectionPage>();
    const page: ChangePage = { rows: [], deleted: [] };
    for (const entry of body.value ?? []) {
      if (isDeletedEntity(entry)) {
        if (typeof entry.id === "string") page.deleted.push(entry.id);
      } else page.rows.push(entry);
    }
    path = body["@odata.nextLink"];
    const deltaLink = body["@odata.deltaLink"];
    if (!path && deltaLink) page.deltaLink = deltaLink;
    if (!path && !deltaLink && tracked) {
      // Seen with annotation preferences (MicrosoftDocs/powerapps-docs#439): keep the old cursor.
      t.logger?.warn("Change-tracking read ended without a delta link", { entitySet });
    }
    yield page;
  }
}
