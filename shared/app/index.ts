export { createAppClient, quoteVersion } from "./appClient.js";
export type { AppClientOptions } from "./appClient.js";
export { AppWritePacer } from "./appWritePacer.js";
export { classifyAppError, parseAppError, parseRetryAfter } from "./classifyAppError.js";
export type { AppErrorBody } from "./classifyAppError.js";
