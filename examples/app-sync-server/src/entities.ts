/**
 * ┌──────────────────────────────────────────────────────────────────────────────────────────┐
 * │ YOUR ENTITIES GO HERE: one entry per `app.entity` of the mapping file, one field per     │
 * │ `fields[].app` (never `id`). The types are the mapping field types; fields.ts checks    │
 * │ their wire formats.                                                                      │
 * └──────────────────────────────────────────────────────────────────────────────────────────┘
 * The example: a maintenance system's sites, assets and purchase orders.
 */
import type { EntityDefinitions } from "./fields.js";

export const entities: EntityDefinitions = {
  site: {
    name: { type: "string", nullable: false },
  },
  asset: {
    assetNumber: { type: "string", nullable: false },
    name: { type: "string" },
    siteId: { type: "lookup", entity: "site" },
    purchasePrice: { type: "money", precision: 2 },
    ratedPowerKw: { type: "decimal", precision: 4 },
    installedOn: { type: "date" },
    lastInspectedAt: { type: "datetime" },
    category: { type: "choice", values: ["pump", "turbine", "transformer"] },
    certifications: { type: "multichoice", values: ["iso9001", "iso14001", "atex"] },
    inService: { type: "boolean", nullable: false },
  },
  purchaseOrder: {
    number: { type: "string", nullable: false },
    assetId: { type: "lookup", entity: "asset" },
    total: { type: "money", precision: 2 },
    quantity: { type: "number", integer: true },
    status: { type: "status", values: ["draft", "submitted", "canceled", "fulfilled"], nullable: false },
  },
};
