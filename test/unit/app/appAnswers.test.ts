import { describe, expect, it } from "vitest";
import { createAppClient } from "../../../shared/app/index.js";
import { ErrorCodes, type SyncError } from "../../../shared/errors.js";
import type { FeedLimits } from "../../../shared/http/feedGuard.js";
import { recordingClock, scriptedFetch } from "./scriptedFetch.js";

/** Issue #19 part A: the app client checks each answer (records, write results, paging) before handing it on. */

const clientWith = (steps: Parameters<typeof scriptedFetch>[0], feedLimits?: FeedLimits) => {
  const transport = scriptedFetch(steps);
  return { client: createAppClient({ baseUrl: "https://app.example.org/api", apiKey: "k", fetch: transport.fetch, clock: recordingClock(), feedLimits }), transport };
};
const live = (id: string) => ({ id, version: "v1", updatedAt: "2026-01-01T00:00:00Z", deleted: false, data: { firstName: id } });
const page = (records: unknown[], nextCursor: string, hasMore: boolean) => ({ status: 200, body: { records, nextCursor, hasMore } });

async function failureOf(pages: AsyncIterable<unknown>): Promise<{ error: SyncError; pages: number }> {
  let n = 0;
  try {
    for await (const _ of pages) n++;
  } catch (e) {
    return { error: e as SyncError, pages: n };
  }
  throw new Error("expected the read to fail");
}

describe("app client answers (#19 part A)", () => {
  it("marks each malformed record with its problem and hands the valid ones on unchanged", async () => {
    const { client } = clientWith([page([live("m-1"), { id: "m-2", version: "v9", deleted: false, data: null }, { id: "", version: "1", deleted: false, data: {} }, { id: "m-4", deleted: true, data: null }], "c1", false)]);

    const [got] = await pagesOf(client.changes("mentor"));

    expect(got.records[0]).toEqual(live("m-1"));
    expect(got.records[1]).toMatchObject({ id: "m-2", data: null, problem: expect.stringContaining('mentor record 2 of 4 on the first page (id "m-2") is live but its data is null, not an object') });
    expect(got.records[2]).toMatchObject({ data: null, problem: expect.stringContaining('record 3 of 4 on the first page has no id ("")') });
    expect(got.records[3]).toMatchObject({ id: "m-4", problem: expect.stringContaining("has no version (missing)") });
  });

  it("fails a create answered 201 with an empty id as UNEXPECTED_RESPONSE, so no empty key is ever written back", async () => {
    const { client } = clientWith([{ status: 201, body: { id: "", version: "1", updatedAt: "2026-01-01T00:00:00Z" } }]);

    const error = await client.create("mentor", { firstName: "A" }, "c0a80001-0000-4000-8000-000000000001").then(() => undefined, (e: SyncError) => e);

    expect(error).toMatchObject({ kind: "permanent", code: ErrorCodes.UnexpectedResponse, message: expect.stringContaining('with id ""') });
  });

  it("marks a record read by id that comes back as another record", async () => {
    const { client } = clientWith([{ status: 200, body: live("m-2") }]);
    const got = await client.get("mentor", "m-1");
    expect(got).toMatchObject({ id: "m-1", data: null, problem: expect.stringContaining('the app answered with the record "m-2" instead') });
  });

  it("ends a feed whose cursor comes back (A → B → A) with FEED_LOOP after the page that closes the loop", async () => {
    const { client, transport } = clientWith([page([], "A", true), page([], "B", true), page([], "A", true), page([], "C", false)]);
    const { error, pages } = await failureOf(client.changes("mentor", "S"));
    expect(error.code).toBe(ErrorCodes.FeedLoop);
    expect(pages).toBe(2);
    expect(transport.remaining).toBe(1);
  });

  it("ends a feed that answers the cursor it started from with FEED_LOOP on the first page", async () => {
    const { client } = clientWith([page([live("m-1")], "S", true)]);
    const { error, pages } = await failureOf(client.changes("mentor", "S"));
    expect([error.code, pages]).toEqual([ErrorCodes.FeedLoop, 0]);
  });

  it("refuses a page over the limit it asked for with PAGE_TOO_LARGE, before handing it on", async () => {
    const { client } = clientWith([page([live("m-1"), live("m-2"), live("m-3")], "c", false)]);
    const { error, pages } = await failureOf(client.changes("mentor", undefined, 2));
    expect([error.code, pages]).toEqual([ErrorCodes.PageTooLarge, 0]);
  });

  it("ends a feed past options.feeds.maxBytes with FEED_TOO_LONG", async () => {
    const { client } = clientWith([page([live("m-1")], "a", true), page([live("m-2")], "b", true)], { maxPages: 100, maxBytes: 200 });
    const { error, pages } = await failureOf(client.changes("mentor"));
    expect(error.code).toBe(ErrorCodes.FeedTooLong);
    expect(error.message).toMatch(/past 200 bytes in 2 pages \(options\.feeds\.maxBytes\)/);
    expect(pages).toBe(1);
  });
});

async function pagesOf<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
