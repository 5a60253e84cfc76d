/**
 * The platform tables every Dataverse environment has, in the emulator's schema format: one
 * business unit, the SYSTEM user and one team. A schema that does not define them gets these
 * (createdby, modifiedby and ownerid point at them).
 */
import type { ColumnDef, ColumnType } from "./schema.js";

/** Ids of the platform rows (the same as in demo-schema.json). */
export const PlatformRows = {
  businessUnitId: "7d1c5f7e-2b4a-4f0e-9a61-000000000001",
  systemUserId: "5a0e0f2c-6a39-4c3e-8d4b-000000000001",
  teamId: "3c6d0b51-1f2e-4d7a-b0c9-000000000001",
} as const;

/** A column as written in a schema file. */
export interface RawColumn extends Partial<ColumnDef> {
  name: string;
  type: ColumnType;
}

/** A table as written in a schema file. */
export interface RawTable {
  logicalName: string;
  entitySetName: string;
  primaryId: string;
  primaryName: string;
  ownership?: "user" | "organization" | "none";
  changeTracking: boolean;
  /** false: the table refuses bulk messages (default true). */
  bulkMessages?: boolean;
  columns: RawColumn[];
  alternateKeys: { name: string; columns: string[] }[];
  rows: Record<string, unknown>[];
}

/** The platform tables every environment has: one business unit, the SYSTEM user, one team. */
export function platformTables(): RawTable[] {
  const bu = { "businessunitid@odata.bind": `/businessunits(${PlatformRows.businessUnitId})` };
  return [
    {
      logicalName: "businessunit", entitySetName: "businessunits", primaryId: "businessunitid", primaryName: "name", ownership: "none",
      changeTracking: false, columns: [{ name: "name", type: "string", maxLength: 160 }], alternateKeys: [],
      rows: [{ businessunitid: PlatformRows.businessUnitId, name: "local" }],
    },
    {
      logicalName: "systemuser", entitySetName: "systemusers", primaryId: "systemuserid", primaryName: "fullname", ownership: "none",
      changeTracking: false,
      columns: [
        { name: "fullname", type: "string", maxLength: 200 },
        { name: "domainname", type: "string", maxLength: 1024 },
        { name: "internalemailaddress", type: "string", maxLength: 100 },
        { name: "applicationid", type: "uniqueidentifier" },
        { name: "isdisabled", type: "boolean" },
        { name: "businessunitid", type: "lookup", targets: ["businessunit"], navigationProperty: "businessunitid" },
      ],
      alternateKeys: [{ name: "systemuser_applicationid_key", columns: ["applicationid"] }],
      rows: [{ systemuserid: PlatformRows.systemUserId, fullname: "SYSTEM", domainname: "system", isdisabled: false, ...bu }],
    },
    {
      logicalName: "team", entitySetName: "teams", primaryId: "teamid", primaryName: "name", ownership: "none",
      changeTracking: false, columns: [{ name: "name", type: "string", maxLength: 160 }], alternateKeys: [],
      rows: [{ teamid: PlatformRows.teamId, name: "local team" }],
    },
  ];
}

