import { FunctionNames, Queues } from "../shared/names.js";
import { recordEventWorker } from "./queueWorkers.js";
import { STORAGE_CONNECTION, storageQueue } from "./register.js";

storageQueue(FunctionNames.recordEventWorker, { queueName: Queues.recordEvents, connection: STORAGE_CONNECTION, handler: recordEventWorker });
