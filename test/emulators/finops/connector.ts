/**
 * The recurring-integrations connector API (doc 1.2–1.5): enqueue, dequeue, download, ack and the
 * legacy jobstatus endpoint, under `/api/connector/`.
 */
import { authorizedJob, type FoContext, type FoRequest } from "./context.js";
import { parsePayload } from "./executions.js";
import { csvStream, entityFileName, PackageError, parseCsv, parsePackage, zipStream } from "./packageCodec.js";
import type { ExportMessage, ImportMessage } from "./queues.js";
import { FinopsFault, json, normalizeGuid, readJsonObject, type FinopsJob, type FoResponse } from "./types.js";

const ROUTE = /^\/api\/connector\/(enqueue|dequeue|download|ack|jobstatus)\/([^/]+)$/i;

export async function handleConnector(req: FoRequest, ctx: FoContext): Promise<FoResponse | undefined> {
  const m = ROUTE.exec(req.path);
  if (!m) return undefined;
  const op = m[1].toLowerCase();
  const method = op === "enqueue" || op === "ack" ? "POST" : "GET";
  if (req.method !== method) throw new FinopsFault(405, `The ${op} endpoint takes ${method}, not ${req.method}.`);
  const job = authorizedJob(ctx, m[2], req.clientId);
  switch (op) {
    case "enqueue": return enqueue(req, ctx, job);
    case "dequeue": return dequeue(ctx, job);
    case "download": return download(req, ctx, job);
    case "ack": return ack(req, ctx, job);
    default: return jobStatus(req, ctx, job);
  }
}

async function enqueue(req: FoRequest, ctx: FoContext, job: FinopsJob): Promise<FoResponse> {
  if (job.direction !== "import") throw new FinopsFault(400, `The recurring data job '${job.activityId}' is an export job; enqueue needs an import job.`);
  const entity = req.url.searchParams.get("entity") ?? undefined;
  if (job.format === "csv") {
    if (!entity) throw new FinopsFault(400, "The entity query parameter is required for a file job (…/enqueue/<activityId>?entity=<entity name>).");
    if (entity.toLowerCase() !== job.entity.toLowerCase()) throw new FinopsFault(400, `The entity '${entity}' is not the entity of the recurring data job ('${job.entity}').`);
  }
  const parsed = await parsePayload(async () => {
    if (job.format === "csv") return [{ entity: job.entity, fileName: entityFileName(job.entity), ...parseCsv(req.body, "the file") }];
    const files = await parsePackage(req.body);
    const foreign = files.find((f) => f.entity.toLowerCase() !== job.entity.toLowerCase());
    if (foreign) throw new PackageError(`the package's entity '${foreign.entity}' is not in the job's data project (entity '${job.entity}')`);
    return files;
  });
  const message = ctx.queues.enqueue(job, parsed, {
    externalIdentifier: req.headers["x-ms-dyn-externalidentifier"],
    company: req.url.searchParams.get("company") ?? undefined,
  });
  return ctx.choices.enqueueAnswer === "object" ? json(200, { value: message.messageId }) : json(200, message.messageId);
}

function dequeue(ctx: FoContext, job: FinopsJob): FoResponse {
  if (job.direction !== "export") throw new FinopsFault(400, `The recurring data job '${job.activityId}' is an import job; dequeue needs an export job.`);
  const next = ctx.queues.dequeue(job);
  if (!next) return { status: 204 };
  const { message, lastDequeuedAt } = next;
  return json(200, {
    CorrelationId: message.correlationId,
    PopReceipt: message.popReceipt,
    DownloadLocation: downloadLocation(ctx, message),
    IsDownLoadFileExist: true,
    FileDownLoadErrorMessage: null,
    LastDequeueDateTime: lastDequeuedAt === undefined ? null : new Date(lastDequeuedAt).toISOString(),
  });
}

function downloadLocation(ctx: FoContext, message: ExportMessage): string {
  const path = `/api/connector/download/${encodeURIComponent(`{${message.job.activityId.replace(/^\{|\}$/g, "").toUpperCase()}}`)}` +
    `?correlation-id=${message.correlationId}&blob=${message.blobId}`;
  if (!ctx.httpDownloadLocation) return `${ctx.origin}${path}`;
  // The load-balancer quirk (doc 1.3): plain http on port 80, whatever the real scheme and port.
  return `http://${new URL(ctx.origin).hostname}:80${path}`;
}

function download(req: FoRequest, ctx: FoContext, job: FinopsJob): FoResponse {
  const blob = req.url.searchParams.get("blob");
  const message = blob ? ctx.queues.exportByBlob(blob) : undefined;
  if (!message || message.job !== job) throw new FinopsFault(404, `No file to download for blob '${(blob ?? "").slice(0, 40)}'.`);
  const headers = { "content-type": "application/octet-stream" };
  if (job.format === "package") return { status: 200, headers, body: zipStream(job.entity, message.rows) };
  if (ctx.choices.csvExportAs === "zip") return { status: 200, headers, body: zipStream(job.entity, message.rows, { bare: true }) };
  return { status: 200, headers: { "content-type": "text/csv; charset=utf-8" }, body: csvStream(message.rows) };
}

function ack(req: FoRequest, ctx: FoContext, job: FinopsJob): FoResponse {
  const body = readJsonObject(req.body);
  const correlationId = body.get("CorrelationId");
  const popReceipt = body.get("PopReceipt");
  if (typeof correlationId !== "string" || !correlationId) throw new FinopsFault(400, "The ack body has no CorrelationId; send the body /dequeue returned.");
  const { result, message } = ctx.queues.ack(correlationId, typeof popReceipt === "string" ? popReceipt : undefined);
  if (result === "unknown" || message?.job !== job) throw new FinopsFault(400, `No dequeued message of this job has the CorrelationId '${normalizeGuid(correlationId).slice(0, 40)}'.`);
  if (result === "stale") {
    if (ctx.choices.staleAck === "reject") throw new FinopsFault(400, "The PopReceipt is not the message's latest: the message was dequeued again since; ack the latest dequeue.");
    ctx.queues.forceAck(message);
  }
  return { status: 200 };
}

const JOB_STATE: Record<string, number> = {
  Enqueued: 0, Dequeued: 1, Acked: 3, Processing: 4, Processed: 5, ProcessedWithErrors: 6, PostProcessingFailed: 7, PreProcessingError: 8,
};

function jobStatus(req: FoRequest, ctx: FoContext, job: FinopsJob): FoResponse {
  const jobId = req.url.searchParams.get("jobId");
  const message = jobId ? ctx.queues.importMessage(jobId) : undefined;
  if (!message || message.job !== job) throw new FinopsFault(400, `No message of this job has the id '${normalizeGuid(jobId ?? "").slice(0, 40)}'.`);
  return json(200, statusBody(ctx, message));
}

function statusBody(ctx: FoContext, message: ImportMessage) {
  const status = ctx.queues.importStatus(message);
  const picked = ctx.queues.pickedUp(message);
  const ex = message.execution;
  const at = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString().slice(0, 19));
  const detail = ex.done ? (ex.files ?? []).map((f) => {
    const errors = ex.errorKeys.get(f.entity.toLowerCase())?.keys.length ?? 0;
    return {
      EntityName: f.entity, Company: message.company ?? "", StagingRecords: f.rows.length, StagingStatus: "Succeeded", StagingErrorCount: 0,
      TargetRecords: f.rows.length - errors, TargetStatus: errors ? "Error" : "Succeeded", TargetErrorCount: errors,
      ExecutionStartedDateTime: at(message.enqueuedAt + (ex.completedAt! - message.enqueuedAt) / 2), ExecutionCompletedDateTime: at(ex.completedAt),
    };
  }) : null;
  return {
    DataJobStatus: {
      DataProject: message.job.entity, DataJobIdentifier: message.messageId, ExternalIdentifier: message.externalIdentifier ?? "",
      ExecutionIdentifier: picked ? ex.executionId : "", DataJobStartedDateTime: picked ? at(message.enqueuedAt) : null,
      DataJobCompletedDateTime: at(ex.completedAt), DataJobState: JOB_STATE[status] ?? 4,
    },
    ExecutionLog: ex.parseError ?? "",
    ExecutionDetail: detail,
  };
}
