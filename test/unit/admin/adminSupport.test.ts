import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeOpaque, encodeOpaque, pageOf } from "../../../shared/api/adminSupport.js";
import { definitions } from "../../../functions/all.js";

const ids = ["m|toApp|b", "m|toDataverse|a", "m|toApp|a", "m|toDataverse|c", "m|toDataverse|b"];

describe("opaque keys", () => {
  it("round-trips any id, including the characters a URL would need escaped", () => {
    const id = "toDataverse|a/b?c#d ü";

    expect(decodeOpaque(encodeOpaque(id))).toBe(id);
    expect(encodeOpaque(id)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("refuses text that is not a key it gave out", () => {
    expect(decodeOpaque("not+base64")).toBeUndefined();
    expect(decodeOpaque("")).toBeUndefined();
    expect(decodeOpaque("YQ=")).toBeUndefined();
  });
});

describe("pages with continuation tokens", () => {
  it("walks every item once, in key order, and ends without a token", () => {
    const seen: string[] = [];
    let token: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: { page: string[]; continuationToken?: string } = pageOf(ids, (x) => x, token, 2)!;
      seen.push(...page.page);
      if (!page.continuationToken) break;
      token = page.continuationToken;
    }

    expect(seen).toEqual([...ids].sort());
  });

  it("refuses a token it did not give out", () => {
    expect(pageOf(ids, (x) => x, "%%", 2)).toBeUndefined();
  });
});

describe("the admin API document", () => {
  const doc = JSON.parse(readFileSync(new URL("../../../docs/openapi/admin-api.json", import.meta.url), "utf8")) as { paths: Record<string, Record<string, unknown>> };
  /** Registered route templates as the document spells them (the export's file parameter is `{mapping}.csv`). */
  const documented = (route: string) => `/${route.replace("export/{file}", "export/{mapping}.csv").replace("/{file?}", "")}`;

  it("documents every registered admin route with its method, and nothing else", () => {
    const adminRoutes = definitions.filter((d) => d.kind === "http" && d.name.startsWith("admin"))
      .flatMap((d) => (d.kind === "http" ? (d.options.methods ?? []).map((m) => `${m.toLowerCase()} ${documented(d.options.route!)}`) : []));
    const inDoc = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));

    expect(adminRoutes.sort()).toEqual(inDoc.sort());
  });
});
