import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EMPTY_GUID, parsePackage, readZip } from "../../emulators/finops/index.js";
import { customerGroupsCsv, enqueuePath, EXPORT_ID, IMPORT_ID, startFinopsHarness, type FinopsHarness } from "./finopsHarness.js";

const STEP = 1000;

describe("F&O emulator: recurring import (enqueue → batch → status)", () => {
  let h: FinopsHarness;
  beforeEach(async () => {
    h = await startFinopsHarness({ batchDelayMs: STEP });
  });
  afterEach(async () => h.close());

  it("answers an enqueue with a quoted message GUID and processes the file through its statuses", async () => {
    // Prepare
    const csv = customerGroupsCsv(3);

    // Act
    const res = await h.fo(enqueuePath(), { body: csv, headers: { "x-ms-dyn-externalidentifier": "groups.csv" } });
    const text = await res.text();
    const messageId = JSON.parse(text) as string;
    const status = () => h.action("GetMessageStatus", { messageId });
    const executionId = () => h.action("GetExecutionIdByMessageId", { _messageId: messageId });

    // Assess
    expect(res.status).toBe(200);
    expect(text).toMatch(/^"[0-9a-f-]{36}"$/);
    expect(await status()).toBe("Enqueued");
    expect(await executionId()).toBe(EMPTY_GUID);
    expect(h.emulator.importedRows("Customer groups")).toEqual([]);
    h.emulator.advance(STEP);
    expect(await status()).toBe("Processing");
    const picked = await executionId();
    expect(picked).not.toBe(EMPTY_GUID);
    h.emulator.advance(STEP);
    expect(await status()).toBe("Processed");
    expect(h.emulator.importedRows("customer groups")).toEqual([
      { CUSTOMERGROUPID: "CG001", DESCRIPTION: "Group 1, wholesale" },
      { CUSTOMERGROUPID: "CG002", DESCRIPTION: "Group 2, wholesale" },
      { CUSTOMERGROUPID: "CG003", DESCRIPTION: "Group 3, wholesale" },
    ]);
    const job = await (await h.fo(`/api/connector/jobstatus/${IMPORT_ID.toLowerCase()}?jobId=${messageId}`)).json();
    expect(job.DataJobStatus).toMatchObject({ DataJobIdentifier: messageId, ExternalIdentifier: "groups.csv", ExecutionIdentifier: picked, DataJobState: 5 });
    expect(job.ExecutionDetail[0]).toMatchObject({ EntityName: "Customer groups", Company: "USMF", TargetRecords: 3, TargetErrorCount: 0 });
    expect(h.emulator.messages()[0]).toMatchObject({ messageId, status: "Processed", executionId: picked, records: 3, company: "USMF" });
  });

  it("counts a file enqueued twice as two arrivals of each row", async () => {
    await h.fo(enqueuePath(), { body: customerGroupsCsv(2) });
    await h.fo(enqueuePath(), { body: customerGroupsCsv(2) });
    h.emulator.advance(2 * STEP);

    expect(h.emulator.importedRows("Customer groups").map((r) => r.CUSTOMERGROUPID)).toEqual(["CG001", "CG002", "CG001", "CG002"]);
  });

  it("fails the rows a predicate refuses: ProcessedWithErrors, and GetExecutionErrors names each row", async () => {
    h.emulator.failRecords("Customer groups", (row) => (row.CUSTOMERGROUPID === "CG002" ? "Customer group CG002 is blocked." : undefined));

    const messageId = await (await h.fo(enqueuePath(), { body: customerGroupsCsv(3) })).json();
    h.emulator.advance(2 * STEP);
    const executionId = await h.action("GetExecutionIdByMessageId", { _messageId: messageId });
    const errors = await h.action("GetExecutionErrors", { executionId });

    expect(await h.action("GetMessageStatus", { messageId })).toBe("ProcessedWithErrors");
    expect(typeof errors).toBe("string"); // a JSON array inside an Edm.String
    expect(JSON.parse(errors as string)).toEqual([
      { RecordId: "2", Field: "", ErrorMessage: "Customer groups (CUSTOMERGROUPID=CG002): Customer group CG002 is blocked." },
    ]);
    expect(h.emulator.importedRows("Customer groups").map((r) => r.CUSTOMERGROUPID)).toEqual(["CG001", "CG003"]);
    const job = await (await h.fo(`/api/connector/jobstatus/${IMPORT_ID}?jobId=${messageId}`)).json();
    expect(job.DataJobStatus.DataJobState).toBe(6);
  });

  it("accepts a file it cannot read and fails it in the batch with PreProcessingError naming the problem", async () => {
    const messageId = await (await h.fo(enqueuePath(), { body: 'CUSTOMERGROUPID,DESCRIPTION\r\n"CG1,unterminated\r\n' })).json();
    h.emulator.advance(2 * STEP);
    const executionId = await h.action("GetExecutionIdByMessageId", { _messageId: messageId });

    expect(await h.action("GetMessageStatus", { messageId })).toBe("PreProcessingError");
    expect(JSON.parse((await h.action("GetExecutionErrors", { executionId })) as string)[0].ErrorMessage).toMatch(/the file is not valid CSV/);
    expect(h.emulator.importedRows("Customer groups")).toEqual([]);
  });

  it("refuses a file job's enqueue without the entity parameter, and answers {value} when configured so", async () => {
    const missing = await h.fo(`/api/connector/enqueue/${IMPORT_ID}`, { body: customerGroupsCsv(1) });
    expect(missing.status).toBe(400);
    expect((await missing.json()).error.message).toMatch(/entity query parameter is required/);

    const other = await startFinopsHarness({ enqueueAnswer: "object" });
    try {
      const res = await other.fo(enqueuePath(), { body: customerGroupsCsv(1) });
      expect((await res.json()).value).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await other.close();
    }
  });

  it("reads relaxed JSON with single quotes, as d365fo.integrations sends it", async () => {
    const messageId = (await (await h.fo(enqueuePath(), { body: customerGroupsCsv(1) })).json()) as string;

    const res = await h.fo("/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities.GetMessageStatus", {
      body: `{'messageId':'${messageId}'}`, headers: { "content-type": "application/json" },
    });

    expect(await res.json()).toEqual({ "@odata.context": `${h.emulator.url}/data/$metadata#Edm.String`, value: "Enqueued" });
  });
});

describe("F&O emulator: recurring export (dequeue → download → ack)", () => {
  let h: FinopsHarness;
  beforeEach(async () => {
    h = await startFinopsHarness({ redeliveryMs: 30 * 60_000 });
  });
  afterEach(async () => h.close());

  const rows = [{ SALESORDERNUMBER: "SO-1", TOTALAMOUNT: "10.50" }, { SALESORDERNUMBER: "SO-2", TOTALAMOUNT: "99" }];

  it("answers 204 when nothing is queued, then the six fields, a bearer-only download and an ack", async () => {
    expect((await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).status).toBe(204);
    const messageId = h.emulator.seedExport(EXPORT_ID, rows);

    const res = await h.fo(`/api/connector/dequeue/${EXPORT_ID}`);
    const body = await res.json();
    const unauthenticated = await h.fo(body.DownloadLocation, { token: null });
    const download = await h.fo(body.DownloadLocation);
    const files = await parsePackage(Buffer.from(await download.arrayBuffer()));
    const ack = await h.fo(`/api/connector/ack/${EXPORT_ID}`, {
      body: { CorrelationId: body.CorrelationId, PopReceipt: body.PopReceipt, DownloadLocation: body.DownloadLocation },
    });

    expect(Object.keys(body)).toEqual(["CorrelationId", "PopReceipt", "DownloadLocation", "IsDownLoadFileExist", "FileDownLoadErrorMessage", "LastDequeueDateTime"]);
    expect(body).toMatchObject({ IsDownLoadFileExist: true, FileDownLoadErrorMessage: null, LastDequeueDateTime: null });
    expect(body.DownloadLocation).toMatch(new RegExp(`^${h.emulator.url}/api/connector/download/%7B${EXPORT_ID}%7D\\?correlation-id=[0-9a-f-]{36}&blob=[0-9a-f-]{36}$`));
    expect(unauthenticated.status).toBe(401);
    expect(files).toEqual([{ entity: "Sales order headers V2", fileName: "Sales order headers V2.csv", columns: ["SALESORDERNUMBER", "TOTALAMOUNT"], rows }]);
    expect(ack.status).toBe(200);
    const unknown = await h.fo(`/api/connector/ack/${EXPORT_ID}`, { body: { ...body, CorrelationId: "11111111-1111-4111-8111-111111111111" } });
    expect(unknown.status).toBe(400);
    expect(h.emulator.messages().find((m) => m.messageId === messageId)).toMatchObject({ status: "Acked", acked: true, dequeueCount: 1 });
    expect((await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).status).toBe(204);
  });

  it("redelivers an unacked message after the interval with LastDequeueDateTime and a fresh PopReceipt", async () => {
    h.emulator.seedExport(EXPORT_ID, rows);
    const first = await (await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).json();
    const firstAt = h.emulator.now();

    h.emulator.advance(30 * 60_000 - 1);
    const early = await h.fo(`/api/connector/dequeue/${EXPORT_ID}`);
    h.emulator.advance(1);
    const again = await (await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).json();
    const staleAck = await h.fo(`/api/connector/ack/${EXPORT_ID}`, { body: first });
    const ack = await h.fo(`/api/connector/ack/${EXPORT_ID}`, { body: again });
    const repeatAck = await h.fo(`/api/connector/ack/${EXPORT_ID}`, { body: again });
    h.emulator.advance(30 * 60_000);

    expect(early.status).toBe(204);
    expect(again.CorrelationId).toBe(first.CorrelationId);
    expect(again.PopReceipt).not.toBe(first.PopReceipt);
    expect(Date.parse(again.LastDequeueDateTime)).toBe(firstAt);
    expect(staleAck.status).toBe(400);
    expect((await staleAck.json()).error.message).toMatch(/PopReceipt is not the message's latest/);
    expect(ack.status).toBe(200);
    expect(repeatAck.status).toBe(200);
    expect((await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).status).toBe(204);
    expect(h.emulator.messages()[0]).toMatchObject({ dequeueCount: 2, acked: true });
  });

  it("accepts a stale ack and hands out a fresh CorrelationId per redelivery when configured so", async () => {
    const other = await startFinopsHarness({ staleAck: "accept", freshCorrelationIdOnRedelivery: true, redeliveryMs: 1000 });
    try {
      other.emulator.seedExport(EXPORT_ID, rows);
      const first = await (await other.fo(`/api/connector/dequeue/${EXPORT_ID}`)).json();
      other.emulator.advance(1000);
      const again = await (await other.fo(`/api/connector/dequeue/${EXPORT_ID}`)).json();

      const staleAck = await other.fo(`/api/connector/ack/${EXPORT_ID}`, { body: first });

      expect(again.CorrelationId).not.toBe(first.CorrelationId);
      expect(new URL(again.DownloadLocation).searchParams.get("blob")).toBe(new URL(first.DownloadLocation).searchParams.get("blob"));
      expect(staleAck.status).toBe(200);
      expect(other.emulator.messages()[0].acked).toBe(true);
    } finally {
      await other.close();
    }
  });

  it("does the ack when its answer is lost (a scripted lostAnswer fault)", async () => {
    h.emulator.seedExport(EXPORT_ID, rows);
    const body = await (await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).json();
    h.emulator.faults.add({ method: "POST", path: "/api/connector/ack/", lostAnswer: true });

    const lost = await h.fo(`/api/connector/ack/${EXPORT_ID}`, { body }).then(() => "answered", () => "lost");

    expect(lost).toBe("lost");
    expect(h.emulator.messages()[0].acked).toBe(true);
    expect((await h.fo(`/api/connector/ack/${EXPORT_ID}`, { body })).status).toBe(200);
  });

  it("streams a 10,000-row export package", async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ SALESORDERNUMBER: `SO-${i + 1}`, TOTALAMOUNT: `${i}.25` }));
    h.emulator.seedExport(EXPORT_ID, many);
    const body = await (await h.fo(`/api/connector/dequeue/${EXPORT_ID}`)).json();

    const download = await h.fo(body.DownloadLocation);
    const files = await parsePackage(Buffer.from(await download.arrayBuffer()));

    // Generated as it is sent: no Content-Length, chunked transfer.
    expect(download.headers.get("content-length")).toBeNull();
    expect(download.headers.get("transfer-encoding")).toBe("chunked");
    expect(files[0].rows).toHaveLength(10_000);
    expect(files[0].rows[9_999]).toEqual({ SALESORDERNUMBER: "SO-10000", TOTALAMOUNT: "9999.25" });
  });
});

describe("F&O emulator: File (CSV) export jobs and the control API", () => {
  const FILE_EXPORT_ID = "5E0A7C1D-2B3F-4A5B-9C8D-7E6F5A4B3C2D";
  const rows = [{ CURRENCY: "NOK", NAME: "Krone, Norwegian" }];

  it("downloads a File job's export as the CSV itself, or as a zip holding it when configured so", async () => {
    const plain = await startFinopsHarness();
    const zipped = await startFinopsHarness({ csvExportAs: "zip" });
    try {
      const bodies: Buffer[] = [];
      for (const h of [plain, zipped]) {
        h.emulator.defineJob({ activityId: FILE_EXPORT_ID, direction: "export", entity: "Currencies", format: "csv" });
        h.emulator.seedExport(FILE_EXPORT_ID, rows);
        const { DownloadLocation } = await (await h.fo(`/api/connector/dequeue/${FILE_EXPORT_ID}`)).json();
        bodies.push(Buffer.from(await (await h.fo(DownloadLocation)).arrayBuffer()));
      }

      expect(bodies[0].toString("utf8")).toBe('CURRENCY,NAME\nNOK,"Krone, Norwegian"\n');
      expect([...(await readZip(bodies[1])).keys()]).toEqual(["Currencies.csv"]);
    } finally {
      await plain.close();
      await zipped.close();
    }
  });

  it("defines jobs, seeds exports, moves time and reads imports through /_emulator/", async () => {
    const h = await startFinopsHarness();
    try {
      const admin = (path: string, body?: unknown) => fetch(`${h.emulator.url}/_emulator${path}`, { method: body === undefined ? "GET" : "POST", body: body === undefined ? undefined : JSON.stringify(body) });
      expect((await admin("/jobs", { activityId: FILE_EXPORT_ID, direction: "export", entity: "Currencies", format: "csv" })).status).toBe(204);
      const seeded = (await (await admin(`/exports/${FILE_EXPORT_ID}`, rows)).json()) as { messageId: string };
      await h.fo(enqueuePath(), { body: customerGroupsCsv(1) });
      await admin("/advance", { ms: 2000 });

      expect((await h.fo(`/api/connector/dequeue/${FILE_EXPORT_ID}`)).status).toBe(200);
      expect(await (await admin("/imports?entity=Customer%20groups")).json()).toEqual([{ CUSTOMERGROUPID: "CG001", DESCRIPTION: "Group 1, wholesale" }]);
      expect(await (await admin("/messages")).json()).toEqual(expect.arrayContaining([expect.objectContaining({ messageId: seeded.messageId, status: "Dequeued" })]));
      expect((await admin("/jobs", { nonsense: true })).status).toBe(400);
    } finally {
      await h.close();
    }
  });
});
