export { startDataverseEmulator, DEMO_SCHEMA_PATH, SYSTEM_USER_ID, type DataverseEmulator, type DataverseEmulatorOptions } from "./emulator.js";
export { applicationUserId, type EmulatorAuthOptions } from "./auth.js";
export { formatDeltaToken, parseDeltaToken } from "./changeTracking.js";
export { loadSchema, type Schema, type TableDef, type ColumnDef } from "./schema.js";
export * from "./types.js";
export { startTestEmulator, type TestEmulator } from "./testSupport.js";
