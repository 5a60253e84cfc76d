import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { FieldMapping } from "../../../shared/config/mapping.js";
import { normaliseSchedule } from "../../../shared/config/schedule.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { config, mapping, problemsOf, validEnv } from "./factories.js";

const keyField = { app: "id", dataverse: "hlf_mentorid", type: "string", direction: "to-dataverse" } as const;
const withFields = (...extra: Array<Partial<FieldMapping> & Record<string, unknown>>) =>
  config(mapping({ fields: [keyField, ...extra] as FieldMapping[] }));

// Inputs a fuzzing campaign found accepted although they cannot work (issue #19).
describe("mapping-file values that were accepted but cannot work", () => {
  it("refuses a key column named twice", () => {
    const twice = mapping({ dataverse: { entitySet: "contacts", table: "contact", key: ["hlf_mentorid", "hlf_mentorid"] } });
    expect(problemsOf(() => parseSyncConfig(config(twice)))).toEqual([
      'mappings[0].dataverse.key[1]: "hlf_mentorid" is already key[0]; name each key column once',
    ]);
  });

  it("refuses __proto__ and a NUL in column and app field names", () => {
    expect(problemsOf(() => parseSyncConfig(withFields({ app: "x", dataverse: "__proto__", type: "string" })))).toEqual([
      'mappings[0].fields[1].dataverse: expected a logical name other than __proto__ and constructor; got "__proto__"',
    ]);
    expect(problemsOf(() => parseSyncConfig(withFields({ app: "x", dataverse: "first\u0000name", type: "string" })))).toEqual([
      'mappings[0].fields[1].dataverse: expected a Dataverse logical name: letters, digits and \'_\', not starting with a digit; got "first\\u0000name"',
    ]);
    expect(problemsOf(() => parseSyncConfig(withFields({ app: "__proto__", dataverse: "firstname", type: "string" })))).toEqual([
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.app: expected a field name other than __proto__ and constructor/),
    ]);
    expect(problemsOf(() => parseSyncConfig(withFields({ app: "first\u0000", dataverse: "firstname", type: "string" })))).toEqual([
      expect.stringMatching(/^mappings\[0\]\.fields\[1\]\.app: expected a field name without control characters/),
    ]);
    const badKey = mapping({ dataverse: { entitySet: "contacts", table: "contact", key: ["__proto__"] } });
    expect(problemsOf(() => parseSyncConfig(config(badKey)))[0]).toMatch(/^mappings\[0\]\.dataverse\.key\[0\]: expected a logical name other than __proto__/);
  });

  it("refuses a schedule that never fires, naming it", () => {
    expect(normaliseSchedule("0 0 2 31 2 *")).toEqual({ problem: expect.stringMatching(/^expected a schedule that fires; got "0 0 2 31 2 \*", which never does/) });
    expect(normaliseSchedule("0 0 2 29 2 *")).toEqual({ value: "0 0 2 29 2 *" });
    expect(problemsOf(() => parseSyncConfig({ ...config(), options: { reconcileSchedule: "0 0 3 30 2 *" } }))).toEqual([
      expect.stringMatching(/^options\.reconcileSchedule: expected a schedule that fires/),
    ]);
  });
});

describe("settings that were accepted but cannot work", () => {
  it("refuses a non-GUID AzureWebJobsStorage__clientId, also next to a connection string", () => {
    expect(problemsOf(() => loadSettings(validEnv({ AzureWebJobsStorage__clientId: "uami" })))).toEqual([
      "AzureWebJobsStorage__clientId: must be the client id of a user-assigned managed identity (a GUID such as 00000000-0000-0000-0000-000000000000), got 'uami'",
    ]);
    expect(loadSettings(validEnv({ AzureWebJobsStorage__clientId: "11111111-2222-3333-4444-555555555555" })).storage.kind).toBe("connection-string");
  });

  it("refuses an Application Insights connection string whose IngestionEndpoint is not a URL, without quoting it", () => {
    const value = "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=not-a-url";
    const problems = problemsOf(() => loadSettings(validEnv({ APPLICATIONINSIGHTS_CONNECTION_STRING: value })));
    expect(problems).toEqual([
      `APPLICATIONINSIGHTS_CONNECTION_STRING: must have an https:// URL as its IngestionEndpoint (http:// only for loopback hosts), got a value of ${value.length} characters`,
    ]);
    expect(problemsOf(() => loadSettings(validEnv({ APPLICATIONINSIGHTS_CONNECTION_STRING: "IngestionEndpoint=http://ingest.example.com/" })))[0])
      .toMatch(/IngestionEndpoint/);
    const good = "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/";
    expect(loadSettings(validEnv({ APPLICATIONINSIGHTS_CONNECTION_STRING: good })).appInsightsConnectionString).toBe(good);
  });
});
