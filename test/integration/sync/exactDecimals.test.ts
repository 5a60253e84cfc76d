import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { ExactNumber } from "../../../shared/http/exactJson.js";
import { DEMO_SCHEMA_PATH } from "../../emulators/dataverse/index.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { OTHER_USER, mark, writesSince } from "./syncFixtures.js";

/** The demo schema without its demo rows, plus a table with a decimal(10) and a money(4) column. */
function schemaWithInstruments(): object {
  const schema = JSON.parse(readFileSync(DEMO_SCHEMA_PATH, "utf8")) as { tables: { logicalName: string; rows?: unknown[]; columns: { name: string }[] }[] };
  for (const t of schema.tables) if (!["businessunit", "systemuser", "team"].includes(t.logicalName)) t.rows = [];
  const group = schema.tables.find((t) => t.logicalName === "hlf_mentorgroup")!;
  schema.tables.push({
    logicalName: "hlf_instrument",
    entitySetName: "hlf_instruments",
    primaryId: "hlf_instrumentid",
    primaryName: "hlf_code",
    changeTracking: true,
    columns: [
      { name: "hlf_code", type: "string", maxLength: 100 },
      { name: "hlf_ratio", type: "decimal", precision: 10 },
      { name: "hlf_amount", type: "money", precision: 4 },
      ...group.columns.filter((c) => c.name === "statecode" || c.name === "statuscode"),
    ],
    alternateKeys: [{ name: "hlf_code_key", columns: ["hlf_code"] }],
    rows: [],
  } as (typeof schema.tables)[number]);
  return schema;
}

const config: SyncConfigInput = {
  schedule: "0 0 2 * * *",
  mappings: [{
    name: "instruments",
    app: { entity: "instrument" },
    dataverse: { entitySet: "hlf_instruments", table: "hlf_instrument", key: ["hlf_code"] },
    direction: "both",
    conflict: { strategy: "newest-wins" },
    deletes: "ignore",
    fields: [
      { app: "id", dataverse: "hlf_code", type: "string", direction: "to-dataverse" },
      { app: "ratio", dataverse: "hlf_ratio", type: "decimal", precision: 10 },
      { app: "amount", dataverse: "hlf_amount", type: "money", precision: 4 },
    ],
  }],
} as SyncConfigInput;

describe("exact decimals end to end", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("syncs a decimal(10) value from the app to Dataverse with every digit, and does not send it back", async () => {
    h = await startSyncHarness({ config, seed: false, schema: schemaWithInstruments() });
    h.stack.app.put("instrument", "i-1", { ratio: new ExactNumber("1234567.1234567891"), amount: 12.5 });
    const at = mark(h);

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    // The digits are in the JSON text the sync sent (a JS number would have sent …892).
    const sent = h.dataverseWrites().map((w) => w.body).filter((b) => b.includes("hlf_ratio"));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain('"hlf_ratio":1234567.1234567891');
    expect(sent[0]).toContain('"hlf_amount":12.5');
    const row = h.stack.dataverse.rows("hlf_instrument").find((r) => r.hlf_code === "i-1")!;
    expect(String(row.hlf_ratio)).toBe("1234567.1234567891");
    expect(row.hlf_amount).toBe(12.5);
    expect(writesSince(h, at).app).toEqual([]);

    // Read back from Dataverse, the value equals what was synced: nothing travels either way.
    const again = mark(h);
    await h.cycle();
    expect(writesSince(h, again)).toEqual({ dataverse: [], app: [] });
  });

  it("syncs a large Dataverse decimal to the app with every digit, and does not send it back", async () => {
    h = await startSyncHarness({ config, seed: false, schema: schemaWithInstruments() });
    const id = h.stack.dataverse.insert("hlf_instrument", { hlf_ratio: new ExactNumber("98765432109.8765432109"), hlf_amount: new ExactNumber("922337203685.4775") }, OTHER_USER);
    const since = h.stack.app.requests.length;

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    // Dataverse answered with the digits (the emulator's change-tracking page), and the app got them.
    const posts = h.stack.app.requests.slice(since).filter((r) => r.method === "POST" && r.path === "/sync/instrument");
    expect(posts).toHaveLength(1);
    expect(posts[0].rawBody).toContain('"ratio":98765432109.8765432109');
    expect(posts[0].rawBody).toContain('"amount":922337203685.4775');
    const created = h.stack.app.list("instrument").find((r) => r.dataverseId === id)!;
    expect(String(created.data!.ratio)).toBe("98765432109.8765432109");
    expect(String(created.data!.amount)).toBe("922337203685.4775");
    // The key write-back carries only the key: the decimals were not rewritten in Dataverse.
    const dvRow = h.stack.dataverse.rows("hlf_instrument").find((r) => r.hlf_instrumentid === id)!;
    expect(dvRow.hlf_code).toBe(created.id);
    expect(String(dvRow.hlf_ratio)).toBe("98765432109.8765432109");
    expect(h.dataverseWrites().filter((w) => w.body.includes("hlf_ratio"))).toEqual([]);

    // Read back from the app's feed, the value equals what was synced: nothing travels either way.
    const again = mark(h);
    await h.cycle();
    expect(writesSince(h, again)).toEqual({ dataverse: [], app: [] });
  });
});
