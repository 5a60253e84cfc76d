import { ErrorCodes, SyncError } from "../errors.js";
import { FeedGuard, type FeedLimits } from "../http/feedGuard.js";
import { safeUrl, type HttpResponse } from "../http/httpClient.js";
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
  /**
   * Ask for each value's display text too (`odata.include-annotations` with
   * `OData.Community.Display.V1.FormattedValue`): a choice's label comes as
   * `<column>@OData.Community.Display.V1.FormattedValue` beside its number.
   */
  formattedValues?: boolean;
  /** Bounds of the read (the mapping file's options.feeds). */
  feedLimits?: FeedLimits;
}

export const FORMATTED_VALUE = "@OData.Community.Display.V1.FormattedValue";

/**
 * A collection page as the Web API documents it: an object whose `value` is an array of objects.
 * Anything else (a 200 with an error body, say) is not an empty page: read as one, a complete read
 * would take every linked row for deleted.
 */
function readCollectionPage(res: HttpResponse, path: string): CollectionPage {
  let body: unknown;
  try {
    body = res.json();
  } catch {
    body = undefined;
  }
  const page = body as CollectionPage | undefined;
  const valid = typeof body === "object" && body !== null && !Array.isArray(body) && Array.isArray(page!.value) &&
    page!.value!.every((r) => typeof r === "object" && r !== null && !Array.isArray(r)) &&
    ["@odata.nextLink", "@odata.deltaLink"].every((k) => (page as Record<string, unknown>)[k] === undefined || typeof (page as Record<string, unknown>)[k] === "string");
  if (!valid) {
    const what = typeof body === "object" && body !== null && "error" in body ? "an error body" : "a body that is not a collection page ({\"value\": [rows]})";
    throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: Dataverse answered GET ${safeUrl(path)} (${res.status}) with ${what}; nothing of it was used`, { status: res.status });
  }
  return page!;
}

/** Pages of rows; `@odata.nextLink` is followed unchanged with the same maxpagesize. */
export async function* queryPages(t: DataverseTransport, entitySet: string, options: QueryOptions): AsyncIterable<DataverseRow[]> {
  const prefer = `odata.maxpagesize=${pageSizeOf(options.pageSize)}` +
    (options.formattedValues ? `,odata.include-annotations="OData.Community.Display.V1.FormattedValue"` : "");
  let path: string | undefined =
    checkName(entitySet, "entity set") +
    queryString({ $select: selectOf(options.select), $filter: options.filter, $orderby: options.orderBy, $top: options.top });
  let remaining = options.top;
  const pageSize = pageSizeOf(options.pageSize);
  const guard = new FeedGuard(`the Dataverse query of ${JSON.stringify(entitySet)}`, options.feedLimits);
  while (path) {
    const res = await t.send({ method: "GET", path, headers: { Prefer: prefer } });
    const page = readCollectionPage(res, path);
    guard.page(page.value!.length, Buffer.byteLength(res.text), pageSize);
    let rows = page.value!;
    // Dataverse ignores $top together with maxpagesize, so the limit is enforced here too.
    if (remaining !== undefined) {
      rows = rows.slice(0, remaining);
      remaining -= rows.length;
    }
    if (rows.length > 0) yield rows;
    path = remaining === 0 ? undefined : page["@odata.nextLink"];
    if (path !== undefined) guard.next(path, "an @odata.nextLink");
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
  options: { select: string[]; deltaLink?: string; pageSize?: number; feedLimits?: FeedLimits },
): AsyncIterable<ChangePage> {
  const pageSize = pageSizeOf(options.pageSize);
  const prefer = `odata.track-changes,odata.maxpagesize=${pageSize}`;
  let path: string | undefined = options.deltaLink ?? checkName(entitySet, "entity set") + queryString({ $select: selectOf(options.select) });
  // The delta link the read began at counts as seen: a next link back to it is a loop too.
  const guard = new FeedGuard(`Dataverse change tracking of ${JSON.stringify(entitySet)}`, options.feedLimits, options.deltaLink);
  let tracked = false;
  while (path) {
    const res = await t.send({ method: "GET", path, headers: { Prefer: prefer } });
    if (/odata\.track-changes/i.test(res.headers.get("preference-applied") ?? "")) tracked = true;
    const body = readCollectionPage(res, path);
    guard.page(body.value!.length, Buffer.byteLength(res.text), pageSize);
    const page: ChangePage = { rows: [], deleted: [] };
    for (const entry of body.value!) {
      if (isDeletedEntity(entry)) {
        if (typeof entry.id !== "string" || entry.id === "") {
          throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: Dataverse change tracking of ${JSON.stringify(entitySet)} reported a deleted row without its id; nothing of that page was used`);
        }
        page.deleted.push(entry.id);
      } else page.rows.push(entry);
    }
    path = body["@odata.nextLink"];
    if (path !== undefined) guard.next(path, "an @odata.nextLink");
    const deltaLink = body["@odata.deltaLink"];
    if (!path && deltaLink) page.deltaLink = deltaLink;
    if (!path && !deltaLink && tracked) {
      // Seen with annotation preferences (MicrosoftDocs/powerapps-docs#439): keep the old cursor.
      t.logger?.warn("Change-tracking read ended without a delta link", { entitySet });
    }
    yield page;
  }
}
