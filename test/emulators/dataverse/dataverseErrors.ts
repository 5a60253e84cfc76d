import { DataverseFault } from "./types.js";

/**
 * The Dataverse error codes and message shapes the emulator answers with (doc §10). Kept in one
 * place so tests and clients can rely on exactly these texts.
 */
export const Codes = {
  objectDoesNotExist: "0x80040217",
  duplicateRecord: "0x80040237",
  duplicateEntityKey: "0x80060892",
  concurrencyMismatch: "0x80060882",
  invalidStateStatus: "0x80048408",
  expiredVersionStamp: "0x80044352",
  validation: "0x80044331",
  optionOutOfRange: "0x8004431a",
  invalidBindUrl: "0x80090800",
  payload: "0x80048d19",
  badQuery: "0x80060888",
  segmentNotFound: "0x8006088a",
  expiredOAuthToken: "0x80041d52",
  notOrgMember: "0x80072560",
} as const;

export const Errors = {
  /** The token is valid but the org has no application user for its client id (multi-tenant: consent given, user not created). */
  notOrgMember: () => new DataverseFault(403, Codes.notOrgMember, "The user is not a member of the organization."),
  notFound: (table: string, id: string) =>
    new DataverseFault(404, Codes.objectDoesNotExist, `${table} With Id = ${id} Does Not Exist`),
  keyNotFound: (table: string) =>
    new DataverseFault(404, Codes.objectDoesNotExist, `A record with the specified key values does not exist in ${table} entity`),
  duplicateId: () => new DataverseFault(412, Codes.duplicateRecord, "Cannot insert duplicate key."),
  duplicateKey: (keyName: string, columns: string[]) =>
    new DataverseFault(412, Codes.duplicateEntityKey,
      `Entity Key ${keyName} violated. A record with the same value for ${columns.join(",")} already exists. A duplicate record cannot be created or updated.`),
  exists: () => new DataverseFault(412, "", "A record with matching key values already exists."),
  concurrency: () =>
    new DataverseFault(412, Codes.concurrencyMismatch, "The version of the existing record doesn't match the RowVersion property provided."),
  payload: (entitySet: string, detail: string) =>
    new DataverseFault(400, Codes.payload, `Error identified in Payload provided by the user for Entity :'${entitySet}' ----> InnerException : Microsoft.OData.ODataException: ${detail}`),
  unknownProperty: (table: string, prop: string) =>
    new DataverseFault(400, Codes.payload,
      `The property '${prop}' does not exist on type 'Microsoft.Dynamics.CRM.${table}'. Make sure to only use property names that are defined by the type.`),
  queryProperty: (table: string, prop: string) =>
    new DataverseFault(400, Codes.badQuery, `Could not find a property named '${prop}' on type 'Microsoft.Dynamics.CRM.${table}'.`),
  badQuery: (message: string) => new DataverseFault(400, Codes.badQuery, message),
  invalidKey: (table: string) =>
    new DataverseFault(400, Codes.badQuery,
      `The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.${table}'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.${table}'.`),
  invalidBind: (url: string, property: string) =>
    new DataverseFault(400, Codes.invalidBindUrl, `Invalid url value '${url}' for lookup property '${property}'.`),
  segment: (segment: string) => new DataverseFault(404, Codes.segmentNotFound, `Resource not found for the segment '${segment}'.`),
  method: (method: string) => new DataverseFault(405, Codes.badQuery, `The HTTP method '${method}' is not supported for this resource.`),
  trackingOption: (option: string) =>
    new DataverseFault(400, Codes.badQuery, `The "${option}" query parameter isn't supported when Change Tracking is enabled.`),
  expiredToken: () =>
    new DataverseFault(400, Codes.expiredVersionStamp, "Version stamp associated with the client has expired. Please perform a full sync."),
  validation: (message: string) => new DataverseFault(400, Codes.validation, `A validation error occurred.  ${message}`),
} as const;
