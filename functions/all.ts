// Every function module, for the local runner and the registration test. The Azure host loads the
// files through package.json `main` instead; ES modules load once, so nothing registers twice.
import "./index.js";
import "./scheduledSync.js";
import "./scheduledReconcile.js";
import "./runWorker.js";
import "./dataverseWriter.js";
import "./appWriter.js";
import "./recordEventWorker.js";
import "./poisonWatcher.js";
import "./manualSync.js";
import "./runStatus.js";
import "./health.js";
import "./dataverseWebhook.js";
import "./appWebhook.js";
import "./powerAutomateInbound.js";
import "./adminConsole.js";
import "./finopsJobs.js";
import "./tenants.js";

export { definitions } from "./register.js";
