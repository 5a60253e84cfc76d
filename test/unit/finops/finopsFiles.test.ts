import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FinopsJob } from "../../../shared/config/finopsJob.js";
import { exportMessageId } from "../../../shared/finops/fromFinops.js";
import { finalStatusOf } from "../../../shared/finops/importResults.js";
import { keyInError } from "../../../shared/finops/jobSupport.js";
import { buildPackage, readRecords, renderCsv } from "../../../shared/finops/packageCodec.js";
import { readZip } from "../../emulators/finops/index.js";

const dir = mkdtempSync(join(tmpdir(), "finops-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};
const collect = async (it: AsyncIterable<Record<string, string>>) => {
  const out: Record<string, string>[] = [];
  for await (const r of it) out.push(r);
  return out;
};

describe("data packages and CSV files", () => {
  it("builds a package whose Manifest.xml and PackageHeader.xml are UTF-16 LE with a BOM, all files at the root", async () => {
    // Act
    const zip = await buildPackage({ project: "CG-Import", entity: "Customer groups", columns: ["CUSTOMERGROUPID", "DESCRIPTION"], csv: renderCsv(["CUSTOMERGROUPID", "DESCRIPTION"], [["G1", "A, \"quoted\" one"]]) });
    // Assess
    const files = await readZip(zip);
    expect([...files.keys()].sort()).toEqual(["Customer groups.csv", "Manifest.xml", "PackageHeader.xml"]);
    const manifest = files.get("Manifest.xml")!;
    expect([...manifest.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    const text = manifest.subarray(2).toString("utf16le");
    expect(text).toContain("<EntityName>Customer groups</EntityName>");
    expect(text).toContain("<InputFilePath>Customer groups.csv</InputFilePath>");
    expect([...files.get("PackageHeader.xml")!.subarray(0, 2)]).toEqual([0xff, 0xfe]);
  });

  it("reads a package's entity file (named by the Manifest) and a plain CSV file as rows", async () => {
    // Prepare
    const csv = renderCsv(["SALESORDERNUMBER", "TOTALAMOUNT"], [["SO-1", "10.5"], ["SO-2", "1,000.25"]]);
    const zip = await buildPackage({ project: "SO", entity: "Sales order headers V2", columns: ["SALESORDERNUMBER", "TOTALAMOUNT"], csv });
    // Act
    const fromZip = await collect(readRecords(file("p.zip", zip)));
    const fromCsv = await collect(readRecords(file("f.csv", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), csv]))));
    // Assess
    const rows = [{ SALESORDERNUMBER: "SO-1", TOTALAMOUNT: "10.5" }, { SALESORDERNUMBER: "SO-2", TOTALAMOUNT: "1,000.25" }];
    expect(fromZip).toEqual(rows);
    expect(fromCsv).toEqual(rows);
  });

  it("names the files a package holds when the entity file asked for is not there", async () => {
    const zip = await buildPackage({ project: "SO", entity: "Orders", columns: ["A"], csv: renderCsv(["A"], [["1"]]) });
    await expect(collect(readRecords(file("q.zip", zip), "Invoices"))).rejects.toThrow(/no file "Invoices" \(it holds .*Orders\.csv/);
  });
});

describe("reading F&O's answers", () => {
  const job = FinopsJob.parse({ name: "j", direction: "to-finops", activityId: "6D31E09F-0249-459F-94F0-AAD9C2C47B64", entity: "E", app: { entity: "e" }, fields: [{ app: "code", finops: "CUSTOMERGROUPID" }] });

  it("finds the key an execution error names as FIELD=value", () => {
    expect(keyInError(job, "Customer groups (CUSTOMERGROUPID=G42): blocked")).toBe("G42");
    expect(keyInError(job, "Field 'CUSTOMERGROUPID' = 'G7' is not valid")).toBeUndefined();
    expect(keyInError(job, "CUSTOMERGROUPID='G7', company USMF")).toBe("G7");
    expect(keyInError(job, "Something failed")).toBeUndefined();
  });

  it("reads status words case-insensitively in both sources' spellings; unknown words are not final", () => {
    expect(finalStatusOf("Processed")).toBe("processed");
    expect(finalStatusOf("ProcessedWithErrors")).toBe("processed_with_errors");
    expect(finalStatusOf("PostProcessingError")).toBe("failed");
    expect(finalStatusOf("PostProcessingFailed")).toBe("failed");
    expect(finalStatusOf("PartiallySucceeded")).toBe("processed_with_errors");
    expect(finalStatusOf("Preprocessing")).toBeUndefined();
    expect(finalStatusOf("Downloaded")).toBeUndefined();
  });

  it("keys an export message by the blob its DownloadLocation names, which a redelivery keeps", () => {
    const first = exportMessageId({ correlationId: "c-1", downloadLocation: "https://fo/api/connector/download/x?correlation-id=c-1&blob=B-9" });
    const again = exportMessageId({ correlationId: "c-2", downloadLocation: "https://fo/api/connector/download/x?correlation-id=c-2&blob=b-9" });
    expect(first).toBe(again);
    expect(exportMessageId({ correlationId: "{C-3}", downloadLocation: "https://fo/x" })).toBe("correlation:c-3");
  });
});
