import { describe, expect, it } from "vitest";
import { createAppClient } from "../../../shared/app/index.js";
import { CompiledMapping } from "../../../shared/sync/compiledMapping.js";
import { ExactNumber, parseJson } from "../../../shared/http/exactJson.js";
import type { Mapping } from "../../../shared/config/mapping.js";
import { defaultRegistry } from "../../../shared/sync/registry.js";
import { keyPath } from "../../../shared/dataverse/odataUrl.js";
import { appToCanonical, bindUrl, canonicalToApp, canonicalToDataverse, dataverseToCanonical } from "../../../shared/sync/values.js";
import { guid, clientWith } from "../dataverse/support.js";
import { recordingClock, scriptedFetch } from "../app/scriptedFetch.js";
import { field } from "./valuesFactories.js";

const ratio = field({ app: "ratio", dataverse: "hlf_ratio", type: "decimal", precision: 10 });
const amount = field({ app: "amount", dataverse: "hlf_amount", type: "money", precision: 4 });

describe("decimal and money values keep every digit", () => {
  it("writes a decimal(10) value to Dataverse and to the app with its exact digits", () => {
    const toDataverse = canonicalToDataverse(ratio, "1234567.1234567891");
    const toApp = canonicalToApp(ratio, "1234567.1234567891");
    expect(JSON.stringify({ hlf_ratio: toDataverse })).toBe('{"hlf_ratio":1234567.1234567891}');
    expect(JSON.stringify({ ratio: toApp })).toBe('{"ratio":1234567.1234567891}');
    expect(JSON.stringify({ hlf_amount: canonicalToDataverse(amount, "922337203685477.5807") })).toBe('{"hlf_amount":922337203685477.5807}');
  });

  it("still writes a value a double holds as a plain number", () => {
    expect(canonicalToDataverse(ratio, "12.5000000000")).toBe(12.5);
    expect(canonicalToApp(amount, "450.5000")).toBe(450.5);
  });

  it("reads an exact number from either side into the canonical digits, not the double's", () => {
    const fromDataverse = parseJson<{ hlf_ratio: unknown }>('{"hlf_ratio":98765432109.8765432109}').hlf_ratio;
    expect(dataverseToCanonical(ratio, fromDataverse)).toBe("98765432109.8765432109");
    expect(appToCanonical(ratio, new ExactNumber("1234567.1234567891"))).toBe("1234567.1234567891");
    // Rounded to the mapping's precision from the digits (half away from zero).
    expect(appToCanonical(amount, new ExactNumber("1234567890.123456789"))).toBe("1234567890.1235");
  });

  it("reads a long number into a number field as the nearest double, as before", () => {
    const score = field({ app: "score", dataverse: "hlf_score", type: "number" });
    expect(appToCanonical(score, new ExactNumber("9007199254740993"))).toBe(9007199254740992);
  });

  it("builds Dataverse and app bodies whose JSON text has the exact digits", async () => {
    const mapping = {
      name: "instruments", app: { entity: "instrument" }, dataverse: { entitySet: "hlf_instruments", table: "hlf_instrument", key: ["hlf_code"] },
      direction: "both", conflict: { strategy: "newest-wins" }, deletes: "ignore",
      fields: [{ app: "id", dataverse: "hlf_code", type: "string" }, ratio, amount],
    } as unknown as Mapping;
    const m = new CompiledMapping(mapping, defaultRegistry);
    const values = { ratio: "1234567.1234567891", amount: "12.5000" };
    const noLookups = {} as Parameters<CompiledMapping["toDataverseBody"]>[1];
    expect(JSON.stringify(await m.toDataverseBody(values, noLookups))).toBe('{"hlf_ratio":1234567.1234567891,"hlf_amount":12.5}');
    expect(JSON.stringify(m.toAppData(values))).toBe('{"ratio":1234567.1234567891,"amount":12.5}');
  });
  it("puts a decimal alternate key into URLs with its exact digits", () => {
    const mapping = {
      name: "instruments", app: { entity: "instrument" }, dataverse: { entitySet: "hlf_instruments", table: "hlf_instrument", key: ["hlf_ratio"] },
      direction: "both", conflict: { strategy: "newest-wins" }, deletes: "ignore", fields: [ratio],
    } as unknown as Mapping;
    const m = new CompiledMapping(mapping, defaultRegistry);
    const key = m.keyOf({ ratio: "1234567.1234567891" })!;
    expect(keyPath("hlf_instruments", key)).toBe("hlf_instruments(hlf_ratio=1234567.1234567891)");
    expect(bindUrl("hlf_instruments", key)).toBe("/hlf_instruments(hlf_ratio=1234567.1234567891)");
    expect(m.keyString({ ratio: "1234567.1234567891" })).toBe("[1234567.1234567891]");
  });
});

describe("the clients read and write exact decimals", () => {
  it("Dataverse: a row's decimal keeps its digits and an update body carries them", async () => {
    const { client, fetch } = clientWith([
      new Response('{"@odata.etag":"W/\\"7\\"","hlf_instrumentid":"x","hlf_ratio":98765432109.8765432109,"hlf_score":3}', { status: 200, headers: { "content-type": "application/json" } }),
      new Response(null, { status: 204 }),
    ]);
    const row = await client.retrieve("hlf_instruments", guid(1), ["hlf_ratio"]);
    expect(String(row!.hlf_ratio)).toBe("98765432109.8765432109");
    expect(row!.hlf_score).toBe(3);

    await client.update("hlf_instruments", guid(1), { hlf_ratio: canonicalToDataverse(ratio, "1234567.1234567891") });
    expect(fetch.calls[1].body).toBe('{"hlf_ratio":1234567.1234567891}');
  });

  it("Dataverse: a change page keeps the digits", async () => {
    const page = '{"value":[{"hlf_instrumentid":"x","hlf_ratio":1234567.1234567891}],"@odata.deltaLink":"https://org.crm4.dynamics.com/api/data/v9.2/hlf_instruments?$deltatoken=1"}';
    const { client } = clientWith([new Response(page, { status: 200, headers: { "content-type": "application/json" } })]);
    const pages = [];
    for await (const p of client.readChanges("hlf_instruments", { select: ["hlf_ratio"] })) pages.push(p);
    expect(String(pages[0].rows[0].hlf_ratio)).toBe("1234567.1234567891");
  });

  it("app: a change page keeps the digits and a create body carries them", async () => {
    const page = '{"records":[{"id":"i-1","version":"v1","updatedAt":"2026-01-01T00:00:00Z","deleted":false,"data":{"ratio":98765432109.8765432109}}],"nextCursor":"c1","hasMore":false}';
    const transport = scriptedFetch([
      { status: 200, body: page },
      { status: 201, body: { id: "i-2", version: "v2", updatedAt: "2026-01-01T00:00:00Z" } },
    ]);
    const client = createAppClient({ baseUrl: "https://app.example.org", apiKey: "k", fetch: transport.fetch, clock: recordingClock(), random: () => 0 });
    const pages = [];
    for await (const p of client.changes("instrument")) pages.push(p);
    expect(String(pages[0].records[0].data!.ratio)).toBe("98765432109.8765432109");

    let sent: string | undefined;
    const spy = (async (input: string | URL | Request, init?: RequestInit) => {
      sent = init?.body as string;
      return transport.fetch(input, init);
    }) as typeof fetch;
    const writer = createAppClient({ baseUrl: "https://app.example.org", apiKey: "k", fetch: spy, clock: recordingClock(), random: () => 0 });
    await writer.create("instrument", { ratio: canonicalToApp(ratio, "1234567.1234567891") }, guid(2));
    expect(sent).toBe(`{"data":{"ratio":1234567.1234567891},"dataverseId":"${guid(2)}"}`);
  });
});
