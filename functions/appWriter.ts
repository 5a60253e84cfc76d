import { FunctionNames, Queues } from "../shared/names.js";
import { writeWorker } from "./queueWorkers.js";
import { STORAGE_CONNECTION, storageQueue } from "./register.js";

storageQueue(FunctionNames.appWriter, { queueName: Queues.appWrites, connection: STORAGE_CONNECTION, handler: writeWorker });
