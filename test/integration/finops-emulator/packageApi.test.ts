import { afterEach, beforeEach, describe, expect, it } from "vitest";
import yazl from "yazl";
import { EMPTY_GUID, manifestXml, packageHeaderXml, parsePackage, readZip, toBuffer, zipStream } from "../../emulators/finops/index.js";
import { customerGroupsCsv, PACKAGE_IMPORT_ID, startFinopsHarness, type FinopsHarness } from "./finopsHarness.js";

const STEP = 1000;
const groups = (n: number) => Array.from({ length: n }, (_, i) => ({ CUSTOMERGROUPID: `CG${i + 1}`, DESCRIPTION: `Group ${i + 1}` }));

/** A zip with the given files (the way a client without our codec would build one). */
async function zipOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8"), name);
  zip.end();
  return toBuffer(zip.outputStream);
}

describe("F&O emulator: package API", () => {
  let h: FinopsHarness;
  beforeEach(async () => {
    h = await startFinopsHarness({ batchDelayMs: STEP, errorKeysEmptyPolls: 1, sasLifetimeMs: 60 * 60_000 });
  });
  afterEach(async () => h.close());

  async function upload(data: Buffer, name = "groups.zip"): Promise<string> {
    const value = await h.action("GetAzureWriteUrl", { uniqueFileName: name });
    const { BlobUrl } = JSON.parse(value as string) as { BlobUrl: string };
    const put = await fetch(BlobUrl, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob", "x-ms-date": new Date().toUTCString() }, body: new Uint8Array(data) });
    expect(put.status).toBe(201);
    return BlobUrl;
  }

  it("hands out a double-encoded write URL and imports an uploaded UTF-16 package through its statuses", async () => {
    const raw = await h.fo("/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.GetAzureWriteUrl", { body: { uniqueFileName: "g1" } });
    const outer = await raw.json();
    const inner = JSON.parse(outer.value);
    const data = await toBuffer(zipStream("Customer groups", groups(3), { project: "CG-Import" }));
    const files = await readZip(data);
    const packageUrl = await upload(data);

    const executionId = await h.action("ImportFromPackage", { packageUrl, definitionGroupId: "CG-Import", executionId: "", execute: true, overwrite: true, legalEntityId: "USMF" });
    const status = () => h.action("GetExecutionSummaryStatus", { executionId });

    expect(typeof outer.value).toBe("string");
    expect(inner).toEqual({ BlobId: expect.stringMatching(/^\{[0-9A-F-]{36}\}$/), BlobUrl: expect.stringContaining(`${h.emulator.url}/blobs/dmf/g1?`) });
    expect([...files.get("Manifest.xml")!.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect([...files.get("PackageHeader.xml")!.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(await status()).toBe("NotRun");
    h.emulator.advance(STEP);
    expect(await status()).toBe("Executing");
    expect(h.emulator.importedRows("Customer groups")).toEqual([]);
    h.emulator.advance(STEP);
    expect(await status()).toBe("Succeeded");
    expect(h.emulator.importedRows("Customer groups")).toEqual(groups(3));
    expect(await h.action("GetExecutionSummaryStatus", { executionId: "nope" })).toBe("Unknown");
  });

  it("reads a UTF-8 package too, and refuses one whose files are in a folder or that lacks Manifest.xml", async () => {
    const csv = customerGroupsCsv(2);
    const utf8 = await zipOf({ "Manifest.xml": manifestXml("P", "Customer groups", "cg.csv", ["CUSTOMERGROUPID", "DESCRIPTION"]), "PackageHeader.xml": packageHeaderXml("P"), "cg.csv": csv });
    const nested = await zipOf({ "pkg/Manifest.xml": "x", "pkg/PackageHeader.xml": "x" });
    const noManifest = await zipOf({ "PackageHeader.xml": packageHeaderXml("P"), "cg.csv": csv });

    const ok = await h.action("ImportFromPackage", { packageUrl: await upload(utf8, "a"), definitionGroupId: "P", executionId: "", execute: true, overwrite: false, legalEntityId: "USMF" });
    const refusals = await Promise.all([nested, noManifest].map(async (data, i) => h.fo("/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.ImportFromPackage", {
      body: { packageUrl: await upload(data, `bad${i}`), definitionGroupId: "P", executionId: "", execute: true, overwrite: false, legalEntityId: "USMF" },
    })));
    h.emulator.advance(2 * STEP);

    expect(await h.action("GetExecutionSummaryStatus", { executionId: ok })).toBe("Succeeded");
    expect(h.emulator.importedRows("Customer groups").map((r) => r.CUSTOMERGROUPID)).toEqual(["CG001", "CG002"]);
    expect(refusals.map((r) => r.status)).toEqual([400, 400]);
    expect((await refusals[0].json()).error.message).toMatch(/'pkg\/Manifest\.xml' is inside a folder/);
    expect((await refusals[1].json()).error.message).toMatch(/no Manifest\.xml at its root/);
  });

  it("refuses a reused execution id, so a retried import cannot apply twice silently", async () => {
    const packageUrl = await upload(await toBuffer(zipStream("Customer groups", groups(1))));
    const args = { packageUrl, definitionGroupId: "P", executionId: "P-run-1", execute: true, overwrite: false, legalEntityId: "USMF" };

    expect(await h.action("ImportFromPackage", args)).toBe("P-run-1");
    const again = await h.fo("/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.ImportFromPackage", { body: args });

    expect(again.status).toBe(400);
    h.emulator.advance(2 * STEP);
    expect(h.emulator.importedRows("Customer groups")).toHaveLength(1);
  });

  it("reports failed records as PartiallySucceeded, in GetExecutionErrors and in the error-keys file", async () => {
    h.emulator.failRecords("Customer groups", (row) => (row.CUSTOMERGROUPID === "CG2" ? "Group CG2 is on hold." : undefined));
    const packageUrl = await upload(await toBuffer(zipStream("Customer groups", groups(3))));
    const executionId = await h.action("ImportFromPackage", { packageUrl, definitionGroupId: "P", executionId: "", execute: true, overwrite: false, legalEntityId: "USMF" });
    h.emulator.advance(2 * STEP);

    const errors = JSON.parse((await h.action("GetExecutionErrors", { executionId })) as string);
    const before = await h.action("GetImportTargetErrorKeysFileUrl", { executionId, entityName: "Customer groups" });
    const exists = await h.action("GenerateImportTargetErrorKeysFile", { executionId, entityName: "Customer groups" });
    const firstPoll = await h.action("GetImportTargetErrorKeysFileUrl", { executionId, entityName: "Customer groups" });
    const url = (await h.action("GetImportTargetErrorKeysFileUrl", { executionId, entityName: "Customer groups" })) as string;
    const keys = await fetch(url); // a SAS URL: no Authorization header

    expect(await h.action("GetExecutionSummaryStatus", { executionId })).toBe("PartiallySucceeded");
    expect(errors).toEqual([{ RecordId: "2", Field: "", ErrorMessage: "Customer groups (CUSTOMERGROUPID=CG2): Group CG2 is on hold." }]);
    expect([before, exists, firstPoll]).toEqual(["", true, ""]);
    expect(keys.status).toBe(200);
    expect(await keys.text()).toBe("CUSTOMERGROUPID\nCG2\n");
    expect(h.emulator.importedRows("Customer groups").map((r) => r.CUSTOMERGROUPID)).toEqual(["CG1", "CG3"]);
  });

  it("exports a project to a package: empty URL until done, then a SAS download of its rows", async () => {
    const rows = [{ SALESORDERNUMBER: "SO-1", TOTALAMOUNT: "5" }];
    h.emulator.defineProject({ name: "SO-Export", entity: "Sales order headers V2", rows });

    const executionId = await h.action("ExportToPackage", { definitionGroupId: "SO-Export", packageName: "so", executionId: "", reExecute: false, legalEntityId: "USMF" });
    const early = await h.action("GetExportedPackageUrl", { executionId });
    h.emulator.advance(2 * STEP);
    const url = (await h.action("GetExportedPackageUrl", { executionId })) as string;
    const files = await parsePackage(Buffer.from(await (await fetch(url)).arrayBuffer()));

    expect(early).toBe("");
    expect(await h.action("GetExecutionSummaryStatus", { executionId })).toBe("Succeeded");
    expect(files).toEqual([expect.objectContaining({ entity: "Sales order headers V2", rows })]);
    expect(await h.action("GetExecutionSummaryPageUrl", { executionId })).toContain(`executionId=${encodeURIComponent(executionId as string)}`);
    expect(await h.action("GetImportStagingErrorFileUrl", { executionId, entityName: "Sales order headers V2" })).toBe("");
    expect(await h.action("ExportToPackage", { definitionGroupId: "no-such-project", packageName: "x", executionId: "", reExecute: false, legalEntityId: "USMF" })).toBe(EMPTY_GUID);
  });

  it("also reads the error keys of a recurring package job through GetExecutionIdByMessageId", async () => {
    h.emulator.failRecords("Customer groups", (row) => (row.CUSTOMERGROUPID === "CG1" ? "bad" : undefined));
    const res = await h.fo(`/api/connector/enqueue/${PACKAGE_IMPORT_ID}?company=USMF`, { body: await toBuffer(zipStream("Customer groups", groups(2))) });
    const messageId = await res.json();
    h.emulator.advance(2 * STEP);
    const executionId = await h.action("GetExecutionIdByMessageId", { _messageId: messageId });

    expect(await h.action("GetMessageStatus", { messageId })).toBe("ProcessedWithErrors");
    expect(await h.action("GenerateImportTargetErrorKeysFile", { executionId, entityName: "Customer groups" })).toBe(true);
  });
});

describe("F&O emulator: blob SAS", () => {
  let h: FinopsHarness;
  beforeEach(async () => {
    h = await startFinopsHarness({ sasLifetimeMs: 10 * 60_000 });
  });
  afterEach(async () => h.close());

  const put = (url: string, headers: Record<string, string> = { "x-ms-blob-type": "BlockBlob" }) => fetch(url, { method: "PUT", headers, body: "data" });

  it("refuses a tampered signature, path or expiry with 403 AuthenticationFailed", async () => {
    const { BlobUrl } = JSON.parse((await h.action("GetAzureWriteUrl", { uniqueFileName: "f" })) as string) as { BlobUrl: string };
    const url = new URL(BlobUrl);
    const badSig = new URL(url);
    badSig.searchParams.set("sig", `x${url.searchParams.get("sig")!.slice(1)}`);
    const otherPath = new URL(url);
    otherPath.pathname = "/blobs/dmf/other";
    const later = new URL(url);
    later.searchParams.set("se", "2099-01-01T00:00:00Z");
    const noSas = new URL(url.pathname, url.origin);

    const answers = await Promise.all([badSig, otherPath, later, noSas].map((u) => put(u.href)));

    expect(answers.map((r) => r.status)).toEqual([403, 403, 403, 403]);
    expect(answers.map((r) => r.headers.get("x-ms-error-code"))).toEqual(["AuthenticationFailed", "AuthenticationFailed", "AuthenticationFailed", "AuthenticationFailed"]);
    expect((await put(BlobUrl)).status).toBe(201);
    const logged = h.emulator.requestLog().filter((e) => e.path.startsWith("/blobs/"));
    expect(logged.map((e) => e.status)).toEqual([403, 403, 403, 403, 201]);
    expect(logged.every((e) => !e.path.includes(url.searchParams.get("sig")!) && !e.path.includes(encodeURIComponent(url.searchParams.get("sig")!)))).toBe(true);
  });

  it("refuses an expired SAS, a PUT without x-ms-blob-type, and a write with a read-only SAS", async () => {
    h.emulator.defineProject({ name: "E", entity: "E", rows: [{ A: "1" }] });
    const { BlobUrl } = JSON.parse((await h.action("GetAzureWriteUrl", { uniqueFileName: "f" })) as string) as { BlobUrl: string };
    const executionId = await h.action("ExportToPackage", { definitionGroupId: "E", packageName: "e", executionId: "", reExecute: false, legalEntityId: "USMF" });
    h.emulator.advance(2000);
    const readUrl = (await h.action("GetExportedPackageUrl", { executionId })) as string;

    const noType = await put(BlobUrl, {});
    const writeWithRead = await put(readUrl);
    h.emulator.advance(10 * 60_000);
    const expired = await put(BlobUrl);

    expect(noType.status).toBe(400);
    expect(noType.headers.get("x-ms-error-code")).toBe("MissingRequiredHeader");
    expect(writeWithRead.status).toBe(403);
    expect(writeWithRead.headers.get("x-ms-error-code")).toBe("AuthorizationPermissionMismatch");
    expect(expired.status).toBe(403);
    expect(await expired.text()).toMatch(/Signed expiry time/);
  });
});
