import { describe, expect, it } from "vitest";
import { validateSyncConfig } from "../../../shared/config/loadConfig.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { mapping, problemsOf, validEnv } from "../config/factories.js";

const job = (patch: Record<string, unknown> = {}) => ({
  name: "customer-groups", direction: "to-finops", api: "recurring", activityId: "{6D31E09F-0249-459F-94F0-AAD9C2C47B64}", entity: "Customer groups",
  format: "csv", app: { entity: "customerGroup" }, fields: [{ app: "code", finops: "CUSTOMERGROUPID", type: "string" }], ...patch,
});

describe("the mapping file's finops array", () => {
  it("accepts a file with F&O jobs and no mappings, with the product.md example's defaults", () => {
    // Act
    const result = validateSyncConfig({ finops: [job(), job({ name: "orders", direction: "from-finops", format: "package", key: ["CUSTOMERGROUPID"], entity: undefined })] });
    // Assess
    expect(result.problems).toEqual([]);
    expect(result.config?.mappings).toEqual([]);
    expect(result.config?.finops?.map((j) => [j.name, j.api, j.batchSize])).toEqual([["customer-groups", "recurring", 10_000], ["orders", "recurring", 10_000]]);
  });

  it("still needs a mapping when there are no jobs", () => {
    expect(validateSyncConfig({ mappings: [] }).problems.join("\n")).toMatch(/mappings/);
  });

  it("names every problem of every job by its path", () => {
    // Act
    const { problems } = validateSyncConfig({
      mappings: [mapping({ name: "customer-groups" })],
      finops: [
        job({ activityId: undefined }),
        job({ name: "p", api: "package", format: "csv" }),
        job({ name: "k", key: ["NOPE"], schedule: "every minute" }),
        job({ name: "bad name!" }),
      ],
    });
    // Assess
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^finops\[0\]\.name: "customer-groups" is already the name of another mapping or job/),
      expect.stringMatching(/^finops\[0\]\.activityId: required for api "recurring"/),
      expect.stringMatching(/^finops\[1\]\.dataProject: required for api "package"/),
      expect.stringMatching(/^finops\[1\]\.format: the package API moves data packages only/),
      expect.stringMatching(/^finops\[2\]\.key: "NOPE" is not the finops name of one of the job's fields/),
      expect.stringMatching(/^finops\[2\]\.schedule: expected an NCRONTAB schedule/),
      expect.stringMatching(/^finops\[3\]\.name/),
    ]));
  });
});

describe("FINOPS_BASE_URL and an optional DYNAMICS_INSTANCE_URL", () => {
  it("reads FINOPS_BASE_URL and lets DYNAMICS_INSTANCE_URL go when it is set", () => {
    const settings = loadSettings(validEnv({ DYNAMICS_INSTANCE_URL: undefined, FINOPS_BASE_URL: "https://contoso.operations.dynamics.com/" }));
    expect(settings.finops).toEqual({ baseUrl: "https://contoso.operations.dynamics.com" });
    expect(settings.dynamics.instanceUrl).toBe("");
  });

  it("still requires DYNAMICS_INSTANCE_URL without FINOPS_BASE_URL, and refuses a plain-http F&O URL off loopback", () => {
    expect(problemsOf(() => loadSettings(validEnv({ DYNAMICS_INSTANCE_URL: undefined })))).toEqual([expect.stringMatching(/^DYNAMICS_INSTANCE_URL: required/)]);
    expect(problemsOf(() => loadSettings(validEnv({ FINOPS_BASE_URL: "http://contoso.operations.dynamics.com" })))).toEqual([expect.stringMatching(/^FINOPS_BASE_URL: must be an https:\/\/ URL/)]);
  });
});
