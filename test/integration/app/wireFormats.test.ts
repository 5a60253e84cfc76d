/**
 * The `…Value` schemas of docs/openapi/app-sync-api.json against what the sync really sends: each
 * mapping field type's converter output, as JSON text on the wire, must fit its documented schema.
 */
import { describe, expect, it } from "vitest";
import { FieldType, type FieldMapping } from "../../../shared/config/mapping.js";
import { ExactNumber } from "../../../shared/http/exactJson.js";
import { appToCanonical, canonicalToApp } from "../../../shared/sync/values.js";
import { loadAppSyncApi, validate } from "./openApiSchema.js";

const doc = loadAppSyncApi();
const schemaOf = (type: string) => ({ $ref: `#/components/schemas/${type[0].toUpperCase()}${type.slice(1)}Value` });
const exists = (type: string) => `${type[0].toUpperCase()}${type.slice(1)}Value` in doc.components.schemas;

const field = (type: FieldMapping["type"], extra: Partial<FieldMapping> = {}): FieldMapping => ({ app: "value", dataverse: "hlf_value", type, ...extra });
const choices = { active: 100000000, expired: 100000001, pending: 100000002 };

/** One field per type and canonical values the sync may hold for it (null included). */
const samples: [FieldMapping, unknown[]][] = [
  [field("string"), ["Ingrid", "", null]],
  [field("number"), [87, -1.5, null]],
  [field("decimal", { precision: 10 }), ["1234567.1234567891", "0.0000001000", "12.5000000000", null]],
  [field("money"), ["350.50", "-0.01", "922337203685477.00", null]],
  [field("boolean"), [true, false, null]],
  [field("date"), ["2027-06-30", null]],
  [field("datetime"), ["2026-11-25T03:10:44Z", null]],
  [field("choice", { choices }), ["active", null]],
  [field("multichoice", { choices }), [["active", "pending"], [], null]],
  [field("lookup", { lookup: { mapping: "groups" } }), ["g-north", null]],
  [field("owner", { ownerType: "team" }), ["8d3f6c1e-5a3b-4c2d-9e1f-0a1b2c3d4e5f", null]],
  [field("status", { statuses: { submitted: { state: 0, status: 100001 }, cancelled: { state: 2, status: 100003 } } } as Partial<FieldMapping>), ["submitted", null]],
];

/** The value as the app receives it: JSON text, read back without exact numbers (as a plain client would). */
const onTheWire = (value: unknown) => (JSON.parse(JSON.stringify({ value })) as { value: unknown }).value;

describe("wire formats in docs/openapi/app-sync-api.json", () => {
  it("documents a value schema for every mapping field type", () => {
    expect(FieldType.options.filter((t) => !exists(t))).toEqual([]);
    expect(samples.map(([f]) => f.type).sort()).toEqual([...FieldType.options].sort());
  });

  it.each(samples)("documents what the sync writes for a $type field", (f, values) => {
    for (const canonical of values) {
      const sent = onTheWire(canonicalToApp(f, canonical));
      expect(validate(doc, schemaOf(f.type), sent), `${f.type} ${JSON.stringify(sent)}`).toEqual([]);
    }
  });

  it("writes decimals as JSON numbers with every digit, even past a double", () => {
    const sent = JSON.stringify({ value: canonicalToApp(field("decimal", { precision: 10 }), "1234567.1234567891") });
    expect(sent).toBe('{"value":1234567.1234567891}');
  });

  it("reads the decimal forms it documents: an exact JSON number and a plain decimal string", () => {
    const money = field("money");
    expect(appToCanonical(money, new ExactNumber("922337203685477.01"))).toBe("922337203685477.01");
    expect(appToCanonical(money, "350.5")).toBe("350.50");
    expect(validate(doc, schemaOf("money"), "350.50")).toEqual([]);
    expect(validate(doc, schemaOf("money"), "a lot")).not.toEqual([]);
  });

  it("reads an empty multichoice as [] whether the app sends [] or null, and never writes null for it", () => {
    const f = field("multichoice", { choices });
    expect([appToCanonical(f, null), appToCanonical(f, [])]).toEqual([[], []]);
    expect(canonicalToApp(f, null)).toEqual([]);
  });

  it("refuses a date-time without an offset, as documented", () => {
    expect(() => appToCanonical(field("datetime"), "2026-11-25T03:10:44")).toThrow(/offset/);
  });
});
