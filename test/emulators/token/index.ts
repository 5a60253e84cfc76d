export { startTokenServer } from "./tokenServer.js";
export type { TokenServer, TokenServerOptions, TokenClient, TokenRequestLog } from "./tokenServer.js";
export { EntraErrors, entraErrorBody } from "./entraErrors.js";
export type { EntraErrorBody } from "./entraErrors.js";
