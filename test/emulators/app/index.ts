export { startSampleApp } from "./sampleApp.js";
export type { SampleApp, SampleAppOptions, LoggedRequest } from "./sampleApp.js";
export type { FaultRule } from "./faults.js";
export type { AppRateLimit } from "./rateLimit.js";
export type { NotifyTarget, NoticeRecord } from "./notifier.js";
export type { StoredRecord } from "./appStore.js";
export { demoSeed } from "./seed.js";
export type { SeedData, SeedRecord } from "./seed.js";
export { encodeCursor, decodeCursor } from "./syncRoutes.js";
