import { FunctionNames, Queues } from "../shared/names.js";
import { runWorker } from "./queueWorkers.js";
import { STORAGE_CONNECTION, storageQueue } from "./register.js";

storageQueue(FunctionNames.runWorker, { queueName: Queues.runs, connection: STORAGE_CONNECTION, handler: runWorker });
