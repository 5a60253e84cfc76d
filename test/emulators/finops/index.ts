export { startFinopsEmulator, DEFAULT_BATCH_DELAY_MS, DEFAULT_REDELIVERY_MS, type FinopsEmulator } from "./emulator.js";
export type { FinopsEmulatorOptions, FinopsJob, FinopsProject, InferredChoices, MessageInfo, RecordFailure, Row } from "./types.js";
export { EMPTY_GUID } from "./types.js";
export type { ThrottleStorm } from "./throttle.js";
export { parsePackage, parseCsv, readZip, decodeXml, zipStream, utf16, manifestXml, packageHeaderXml, toBuffer, PackageError } from "./packageCodec.js";
