/**
 * OData actions bound to `DataManagementDefinitionGroups` (doc 1.5–1.7): message status and
 * execution lookups for recurring jobs, and the package API. Every answer is
 * `{"@odata.context":…,"value":…}` with a flat value; GetAzureWriteUrl's value is JSON inside a string.
 */
import { authorizeApp, type FoContext, type FoRequest } from "./context.js";
import { parsePayload, type Execution } from "./executions.js";
import { csvStream, PackageError, parsePackage, zipStream } from "./packageCodec.js";
import { EMPTY_GUID, FinopsFault, newGuid, normalizeGuid, odataValue, readJsonObject, type FoResponse } from "./types.js";

const ROUTE = /^\/data\/DataManagementDefinitionGroups\/Microsoft\.Dynamics\.DataEntities\.(\w+)$/i;
const CONTAINER = "dmf";

type Args = ReturnType<typeof readJsonObject>;
type Action = (args: Args, ctx: FoContext) => FoResponse | Promise<FoResponse>;

const str = (args: Args, name: string, required = true): string => {
  const v = args.get(name);
  if (typeof v === "string" && v.trim()) return v.trim();
  if (v === undefined || v === null || v === "") {
    if (required) throw new FinopsFault(400, `The parameter '${name}' is required.`);
    return "";
  }
  throw new FinopsFault(400, `The parameter '${name}' must be a string.`);
};

function execution(ctx: FoContext, args: Args): Execution | undefined {
  return ctx.executions.get(str(args, "executionId"));
}

const actions: Record<string, Action> = {
  getmessagestatus(args, ctx) {
    const id = str(args, "messageId");
    const message = ctx.queues.importMessage(id);
    if (message) return odataValue(ctx.origin, "Edm.String", ctx.queues.importStatus(message));
    const exported = ctx.queues.list().find((m) => m.direction === "export" && m.messageId === normalizeGuid(id));
    // inferred: an unknown id is a 400 naming it (RIS #146 quotes "was not found in the message table").
    if (!exported) throw new FinopsFault(400, `Message with id '${normalizeGuid(id).slice(0, 40)}' was not found in the message table.`);
    return odataValue(ctx.origin, "Edm.String", exported.status);
  },
  getexecutionidbymessageid(args, ctx) {
    const id = args.get("_messageId") !== undefined ? str(args, "_messageId") : str(args, "messageId");
    const message = ctx.queues.importMessage(id);
    return odataValue(ctx.origin, "Edm.String", message && ctx.queues.pickedUp(message) ? message.execution.executionId : EMPTY_GUID);
  },
  getexecutionerrors(args, ctx) {
    const ex = execution(ctx, args);
    const errors = ex?.done ? ex.errors : [];
    return odataValue(ctx.origin, "Edm.String", ctx.choices.executionErrorsAs === "string" ? JSON.stringify(errors) : errors);
  },
  getazurewriteurl(args, ctx) {
    const name = str(args, "uniqueFileName");
    const blobUrl = ctx.blobs.sasUrl(CONTAINER, name, "rw");
    return odataValue(ctx.origin, "Edm.String", JSON.stringify({ BlobId: `{${newGuid().toUpperCase()}}`, BlobUrl: blobUrl }));
  },
  async importfrompackage(args, ctx) {
    const packageUrl = str(args, "packageUrl");
    const project = str(args, "definitionGroupId");
    const requestedId = str(args, "executionId", false);
    // inferred: reusing an execution id is refused, so a retried call whose answer was lost cannot import twice silently.
    if (requestedId && ctx.executions.get(requestedId)) throw new FinopsFault(400, `An execution with the id '${requestedId.slice(0, 80)}' already exists.`);
    const data = ctx.blobs.bytesAt(packageUrl);
    if (!data) throw new FinopsFault(400, "No uploaded package is at packageUrl (upload it to the GetAzureWriteUrl BlobUrl first).");
    const parsed = await parsePayload(() => parsePackage(data));
    // The doc's one known refusal at call time: a package whose files are not at the zip's root (RIS #47).
    if (parsed.parseError) throw new FinopsFault(400, `The package cannot be imported: ${parsed.parseError}.`);
    const known = ctx.projects.get(project.toLowerCase());
    const foreign = known && parsed.files!.find((f) => f.entity.toLowerCase() !== known.entity.toLowerCase());
    if (foreign) throw new FinopsFault(400, `The package's entity '${foreign.entity}' is not in the data project '${project}'.`);
    const ex = ctx.executions.create({ executionId: requestedId, direction: "import", project, execute: args.get("execute") !== false, ...parsed });
    return odataValue(ctx.origin, "Edm.String", ex.executionId);
  },
  exporttopackage(args, ctx) {
    const project = ctx.projects.get(str(args, "definitionGroupId").toLowerCase());
    // The Logic App sample treats the empty GUID as ExportToPackage's failure answer.
    if (!project) return odataValue(ctx.origin, "Edm.String", EMPTY_GUID);
    const packageName = str(args, "packageName", false) || project.name;
    const ex = ctx.executions.create({
      executionId: str(args, "executionId", false), direction: "export", project: project.name, execute: true,
      exportRows: [...(project.rows ?? [])], exportEntity: project.entity, packageName,
      onDone: (done) => ctx.blobs.putGenerated(CONTAINER, `${done.executionId}/${packageName}.zip`,
        () => zipStream(project.entity, done.exportRows!, { project: project.name }), "application/zip"),
    });
    return odataValue(ctx.origin, "Edm.String", ex.executionId);
  },
  getexportedpackageurl(args, ctx) {
    const ex = execution(ctx, args);
    if (!ex?.done || ex.direction !== "export") return odataValue(ctx.origin, "Edm.String", "");
    return odataValue(ctx.origin, "Edm.String", ctx.blobs.sasUrl(CONTAINER, `${ex.executionId}/${ex.packageName}.zip`, "r"));
  },
  getexecutionsummarystatus(args, ctx) {
    const ex = execution(ctx, args);
    return odataValue(ctx.origin, "Edm.String", ex ? ctx.executions.summaryStatus(ex) : "Unknown");
  },
  getexecutionsummarypageurl(args, ctx) {
    return odataValue(ctx.origin, "Edm.String", `${ctx.origin}/?mi=DMFExecutionSummary&executionId=${encodeURIComponent(str(args, "executionId"))}`);
  },
  generateimporttargeterrorkeysfile(args, ctx) {
    const ex = execution(ctx, args);
    const entity = str(args, "entityName").toLowerCase();
    const keys = ex?.done ? ex.errorKeys.get(entity) : undefined;
    if (!ex || !keys) return odataValue(ctx.origin, "Edm.Boolean", false);
    ex.errorKeysPolls.set(entity, ctx.choices.errorKeysEmptyPolls);
    ctx.blobs.putGenerated(CONTAINER, `${ex.executionId}/${entity}-errorkeys.csv`, () => csvStream(keys.keys, keys.columns), "text/csv");
    return odataValue(ctx.origin, "Edm.Boolean", true);
  },
  getimporttargeterrorkeysfileurl(args, ctx) {
    const ex = execution(ctx, args);
    const entity = str(args, "entityName").toLowerCase();
    const polls = ex?.errorKeysPolls.get(entity);
    if (!ex || polls === undefined) return odataValue(ctx.origin, "Edm.String", "");
    if (polls > 0) {
      ex.errorKeysPolls.set(entity, polls - 1);
      return odataValue(ctx.origin, "Edm.String", "");
    }
    return odataValue(ctx.origin, "Edm.String", ctx.blobs.sasUrl(CONTAINER, `${ex.executionId}/${entity}-errorkeys.csv`, "r"));
  },
  getimportstagingerrorfileurl(args, ctx) {
    execution(ctx, args);
    return odataValue(ctx.origin, "Edm.String", "");
  },
};

export async function handleODataAction(req: FoRequest, ctx: FoContext): Promise<FoResponse | undefined> {
  const m = ROUTE.exec(req.path);
  if (!m) return undefined;
  const action = actions[m[1].toLowerCase()];
  if (!action) throw new FinopsFault(404, `Resource not found for the segment 'Microsoft.Dynamics.DataEntities.${m[1]}'.`);
  if (req.method !== "POST") throw new FinopsFault(405, `The action ${m[1]} takes POST.`);
  authorizeApp(ctx, req.clientId);
  try {
    return await action(readJsonObject(req.body), ctx);
  } catch (err) {
    if (err instanceof PackageError) throw new FinopsFault(400, err.message);
    throw err;
  }
}
