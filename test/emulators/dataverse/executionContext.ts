/**
 * The RemoteExecutionContext a webhook receives (dataverse-web-api.md §9), shaped like the
 * documented example: key/value arrays, `__type` discriminators, WCF dates. Values come from the
 * store without schema knowledge, so types are inferred: ISO dates become `\/Date(ms)\/`,
 * lookups (`{id, logicalName}` or `_x_value`) become EntityReferences, statecode/statuscode and 100000000-range integers
 * (custom choice values) become OptionSetValues; other values pass through as JSON.
 */
import { randomUUID } from "node:crypto";
import type { ChangeEvent, EmulatorContext, LookupValue } from "./types.js";

const CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts";
type KeyValue = { key: string; value: unknown };
export type RemoteExecutionContext = Record<string, unknown>;

/** System columns a Target carries besides the written ones (Update: only the modified* trio). */
const UPDATE_SYSTEM = ["modifiedon", "modifiedby", "modifiedonbehalfby"];
const CREATE_SYSTEM = [...UPDATE_SYSTEM, "createdon", "createdby", "createdonbehalfby", "ownerid", "statecode", "statuscode"];
const LOOKUP_TARGETS: Record<string, string> = {
  createdby: "systemuser", modifiedby: "systemuser", createdonbehalfby: "systemuser", modifiedonbehalfby: "systemuser",
  ownerid: "systemuser", owninguser: "systemuser", owningbusinessunit: "businessunit",
};

export interface ContextOptions {
  stepId: string;
  /** Primary name column for the AsynchronousStepPrimaryName image (default: guessed from the row). */
  primaryName?: string;
}

export function buildExecutionContext(event: ChangeEvent, ctx: EmulatorContext, options: ContextOptions): RemoteExecutionContext {
  const primaryId = `${event.table}id`;
  const now = ctx.now();
  const base = {
    BusinessUnitId: ctx.businessUnitId,
    CorrelationId: event.correlationId,
    Depth: 1,
    InitiatingUserId: event.userId,
    IsExecutingOffline: false,
    IsInTransaction: false,
    IsOfflinePlayback: false,
    IsolationMode: 1,
    MessageName: event.message,
    Mode: 1,
    OperationCreatedOn: wcfDate(now),
    OperationId: randomUUID(),
    OrganizationId: ctx.organizationId,
    OrganizationName: ctx.organizationName,
    OutputParameters: event.message === "Create" ? [{ key: "id", value: event.id }] : [],
    OwningExtension: reference("sdkmessageprocessingstep", options.stepId),
    PreEntityImages: [] as KeyValue[],
    PrimaryEntityId: event.id,
    PrimaryEntityName: event.table,
    RequestId: null,
    SecondaryEntityName: "none",
    SharedVariables: [] as KeyValue[],
    UserId: event.userId,
  };
  const target = event.message === "Delete" ? reference(event.table, event.id) : entity(event.table, event.id, targetAttributes(event, primaryId));
  const inputParameters: KeyValue[] = [{ key: "Target", value: target }];
  const postImages: KeyValue[] = [];
  if (event.row) {
    const image: KeyValue[] = [];
    const primaryName = options.primaryName ?? guessPrimaryName(event.table, event.row);
    if (primaryName && primaryName in event.row) image.push({ key: primaryName, value: event.row[primaryName] });
    image.push({ key: primaryId, value: event.id });
    postImages.push({ key: "AsynchronousStepPrimaryName", value: entity(event.table, event.id, image) });
  }
  return {
    ...base,
    InputParameters: inputParameters,
    ParentContext: {
      ...base,
      InputParameters: [...inputParameters, { key: "SuppressDuplicateDetection", value: false }],
      Mode: 0,
      OperationId: randomUUID(),
      OutputParameters: [],
      OwningExtension: null,
      ParentContext: null,
      PostEntityImages: [],
      SharedVariables: [{ key: "ChangedEntityTypes", value: [{ __type: `KeyValuePairOfstringstring:#System.Collections.Generic`, key: event.table, value: event.message }] }],
      Stage: 30,
    },
    PostEntityImages: postImages,
    Stage: 40,
  };
}

/** JSON text as the WCF serializer writes it: every `/` escaped, so dates read `\/Date(ms)\/`. */
export function serializeWcf(value: unknown): string {
  return JSON.stringify(value).replace(/\//g, "\\/");
}

export function wcfDate(ms: number): string {
  return `/Date(${ms})/`;
}

function targetAttributes(event: ChangeEvent, primaryId: string): KeyValue[] {
  const row = event.row ?? {};
  const names = new Set<string>();
  for (const key of Object.keys(event.changed)) {
    const bind = /^(.+)@odata\.bind$/.exec(key);
    names.add(bind ? bind[1].toLowerCase() : key.replace(/^_(.+)_value$/, "$1"));
  }
  names.add(primaryId);
  for (const column of event.message === "Create" ? CREATE_SYSTEM : UPDATE_SYSTEM) names.add(column);
  const attributes: KeyValue[] = [];
  for (const name of names) {
    if (name.includes("@") || name === "versionnumber") continue;
    if (name === primaryId) attributes.push({ key: name, value: event.id });
    else if (`_${name}_value` in row) attributes.push({ key: name, value: lookupValue(row, name) });
    else if (name in row) attributes.push({ key: name, value: sdkValue(name, row[name]) });
    else if (name in event.changed) attributes.push({ key: name, value: sdkValue(name, event.changed[name]) });
  }
  return attributes;
}

function guessPrimaryName(table: string, row: Record<string, unknown>): string | undefined {
  const prefix = table.includes("_") ? table.slice(0, table.indexOf("_")) : "";
  return ["fullname", "name", `${prefix}_name`, "subject", "title"].find((column) => column in row);
}

function lookupValue(row: Record<string, unknown>, name: string): unknown {
  const id = row[`_${name}_value`];
  if (typeof id !== "string" || !id) return null;
  const logicalName = row[`_${name}_value@Microsoft.Dynamics.CRM.lookuplogicalname`];
  return reference(typeof logicalName === "string" ? logicalName : (LOOKUP_TARGETS[name] ?? null), id);
}

function sdkValue(name: string, value: unknown): unknown {
  if (isLookup(value)) return reference(value.logicalName, value.id);
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
    if (!Number.isNaN(ms)) return wcfDate(ms);
  }
  if (typeof value === "number" && Number.isInteger(value) && (name === "statecode" || name === "statuscode" || (value >= 100_000_000 && value < 1_000_000_000))) {
    return { __type: `OptionSetValue:${CONTRACTS}`, Value: value };
  }
  return value ?? null;
}

/** The core stores lookup columns as `{ id, logicalName }` (LookupValue in types.ts). */
function isLookup(value: unknown): value is LookupValue {
  return typeof value === "object" && value !== null && typeof (value as LookupValue).id === "string" && typeof (value as LookupValue).logicalName === "string";
}

function entity(logicalName: string, id: string, attributes: KeyValue[]) {
  return {
    __type: `Entity:${CONTRACTS}`,
    Attributes: attributes,
    EntityState: null,
    FormattedValues: [],
    Id: id,
    KeyAttributes: [],
    LogicalName: logicalName,
    RelatedEntities: [],
    RowVersion: null,
  };
}

function reference(logicalName: string | null, id: string) {
  return { __type: `EntityReference:${CONTRACTS}`, Id: id, KeyAttributes: [], LogicalName: logicalName, Name: null, RowVersion: null };
}
