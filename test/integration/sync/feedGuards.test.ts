import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import type { RunSummary } from "../../../shared/runtime/summary.js";
import { startScriptedHarness, type ScriptedHarness } from "../../support/scriptedPeers.js";
import { demoConfig } from "../../support/syncHarness.js";
import { contact, contactIdOf, editDataverse } from "./syncFixtures.js";

/**
 * Issue #19 part A: paging guards on both feeds. A feed that loops, pages past the asked limit, or
 * goes on past its bounds ends that mapping's run with a code; its cursor stays, the other mappings
 * go on, and the changes it held back sync once the feed behaves.
 */

const runOf = (s: RunSummary, name: string) => s.mappings.find((m) => m.name === name)!;
const page = (nextCursor: string, records: unknown[] = []) => ({ status: 200, body: { records, nextCursor, hasMore: true } });

describe("paging guards (#19 part A)", () => {
  let s: ScriptedHarness;
  afterEach(async () => s?.stop());

  async function start(options: Record<string, unknown> = {}): Promise<void> {
    const config = demoConfig() as unknown as { options?: Record<string, unknown> };
    config.options = { ...config.options, ...options };
    s = await startScriptedHarness({ config: config as never });
    await s.cycle();
  }

  const feedCalls = (entity: string, since: number) => s.app.requests.slice(since).filter((r) => r.path.includes(`/sync/${entity}/changes`)).length;
  const cursor = (mapping: string, side: "app" | "dataverse") => s.services.state.getCursor(mapping, side).then((c) => c?.value);

  it("an app feed that answers hasMore with the same cursor for ever ends the mapping's run with FEED_LOOP after two pages; the change syncs once the feed behaves", async () => {
    await start();
    s.h.stack.app.patch("mentor", "m-0001", { firstName: "Olav" });
    const stored = await cursor("mentors", "app");
    s.app.script({ method: "GET", path: "/sync/mentor/changes", count: Infinity, answer: page("A") });
    const at = s.app.requests.length;

    const looped = await s.cycle();

    const mentors = runOf(looped, "mentors");
    expect(mentors.status).toBe("failed");
    expect(mentors.error).toMatch(/^FEED_LOOP: the app's change feed for "mentor" was not read to its end, because after page 2 it answered cursor "A" that it gave before/);
    expect(looped.failures).toContainEqual(expect.objectContaining({ mapping: "mentors", code: "FEED_LOOP", message: expect.stringMatching(/^FEED_LOOP/) }));
    expect(feedCalls("mentor", at)).toBe(2);
    expect(runOf(looped, "groups").status).toBe("succeeded");
    expect(await cursor("mentors", "app")).toBe(stored);
    expect(contact(s.h, contactIdOf(1)).firstname).not.toBe("Olav");
    expect(s.logs.some((l) => l.level === "error" && String(l.props?.error).startsWith("FEED_LOOP"))).toBe(true);

    s.app.clear();
    const healed = await s.cycle();

    expect(runOf(healed, "mentors").status).toBe("succeeded");
    expect(contact(s.h, contactIdOf(1)).firstname).toBe("Olav");
  });

  it("a cursor loop A → B → A in one mapping's feed ends that run with FEED_LOOP while the other mapping syncs", async () => {
    await start();
    s.h.stack.app.patch("mentor", "m-0001", { firstName: "Olav" });
    const stored = await cursor("groups", "app");
    for (const c of ["A", "B", "A"]) s.app.script({ method: "GET", path: "/sync/group/changes", answer: page(c) });

    const looped = await s.cycle();

    expect(runOf(looped, "groups").status).toBe("failed");
    expect(runOf(looped, "groups").error).toMatch(/^FEED_LOOP: .* after page 3 it answered cursor "A" that it gave before/);
    expect(await cursor("groups", "app")).toBe(stored);
    // The child mapping does not wait for a failed parent: it went on and synced.
    expect(runOf(looped, "mentors").status).toBe("succeeded");
    expect(contact(s.h, contactIdOf(1)).firstname).toBe("Olav");
  });

  it("an app page larger than the limit asked for ends the run with PAGE_TOO_LARGE before any of its records is decided", async () => {
    await start();
    s.h.stack.app.patch("mentor", "m-0001", { firstName: "Olav" });
    const records = Array.from({ length: 1001 }, (_, i) => ({ id: `m-9${i}`, version: "1", updatedAt: "2026-01-01T00:00:00Z", deleted: false, data: { firstName: `Flood${i}` } }));
    s.app.script({ method: "GET", path: "/sync/mentor/changes", answer: { status: 200, body: { records, nextCursor: "x", hasMore: false } } });
    const at = s.dataverse.requests.length;

    const flooded = await s.cycle();

    expect(runOf(flooded, "mentors").error).toMatch(/^PAGE_TOO_LARGE: .* page 1 held 1001 records although at most 1000 were asked for/);
    expect(s.dataverse.requests.slice(at).filter((r) => r.method !== "GET")).toEqual([]);
    expect(s.dataverse.requests.slice(at).filter((r) => r.path.includes("hlf_mentorid="))).toEqual([]);

    const healed = await s.cycle();
    expect(runOf(healed, "mentors").status).toBe("succeeded");
    expect(contact(s.h, contactIdOf(1)).firstname).toBe("Olav");
  });

  it("an app feed whose cursors never repeat ends with FEED_TOO_LONG at options.feeds.maxPages", async () => {
    await start({ feeds: { maxPages: 3 } });
    s.app.script({ method: "GET", path: "/sync/mentor/changes", count: Infinity, answer: ({ n }) => page(`c${n}`) });
    const at = s.app.requests.length;

    const endless = await s.cycle();

    expect(runOf(endless, "mentors").error).toMatch(/^FEED_TOO_LONG: .* past 3 pages \(options\.feeds\.maxPages\)/);
    expect(feedCalls("mentor", at)).toBe(4);
  });

  it("a Dataverse @odata.nextLink that comes back ends the run with FEED_LOOP; the row's change syncs once Dataverse behaves", async () => {
    await start();
    editDataverse(s.h, "contact", contactIdOf(1), { hlf_score: 55 });
    const stored = await cursor("mentors", "dataverse");
    const link = `${s.dataverse.origin}/api/data/v9.2/contacts?$select=contactid&$skiptoken=loop`;
    s.dataverse.script({ method: "GET", path: /contacts\?.*(\$deltatoken|\$skiptoken)/, count: Infinity, answer: { status: 200, body: { value: [], "@odata.nextLink": link } } });
    const at = s.dataverse.requests.length;

    const looped = await s.cycle();

    expect(runOf(looped, "mentors").error).toMatch(/^FEED_LOOP: Dataverse change tracking of "contacts" was not read to its end, because after page 2 it answered an @odata.nextLink that it gave before/);
    expect(s.dataverse.requests.slice(at).filter((r) => r.scripted)).toHaveLength(2);
    expect(await cursor("mentors", "dataverse")).toBe(stored);
    expect(runOf(looped, "groups").status).toBe("succeeded");

    s.dataverse.clear();
    await s.cycle();
    expect(s.h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(55);
  });

  it("a Dataverse page with more rows than odata.maxpagesize ends the run with PAGE_TOO_LARGE", async () => {
    await start();
    const rows = Array.from({ length: 5001 }, () => ({ contactid: contactIdOf(1) }));
    s.dataverse.script({ method: "GET", path: "$deltatoken", answer: { status: 200, body: { value: rows } } });

    const flooded = await s.cycle({ mapping: "mentors" });

    expect(runOf(flooded, "mentors").error).toMatch(/^PAGE_TOO_LARGE: Dataverse change tracking of "contacts" .* page 1 held 5001 records although at most 5000 were asked for/);
  });

  it("a Dataverse read answered 200 with an error body is not an empty page: a full run fails with UNEXPECTED_RESPONSE instead of taking every row for deleted", async () => {
    await start();
    s.dataverse.script({ method: "GET", path: /^\/api\/data\/v9\.2\/contacts\?\$select/, answer: { status: 200, body: { error: { code: "0x80040216", message: "An unexpected error occurred." } } } });
    const at = { app: s.app.requests.length, dv: s.dataverse.requests.length };
    const records = JSON.stringify(s.h.stack.app.list("mentor"));

    const full = await s.cycle({ mapping: "mentors", full: true });

    expect(runOf(full, "mentors").error).toMatch(/^UNEXPECTED_RESPONSE: Dataverse answered GET .*contacts \(200\) with an error body/);
    expect(s.app.requests.slice(at.app).filter((r) => r.method !== "GET")).toEqual([]);
    expect(s.dataverse.requests.slice(at.dv).filter((r) => r.method !== "GET")).toEqual([]);
    expect(JSON.stringify(s.h.stack.app.list("mentor"))).toBe(records);
  });
});

// Codes the messages above start with (kept in one place with the product's codes).
void [ErrorCodes.FeedLoop, ErrorCodes.PageTooLarge, ErrorCodes.FeedTooLong];
