import { QueueClient, QueueServiceClient } from "@azure/storage-queue";
import type { TokenCredential } from "@azure/identity";
import { ErrorCodes, SyncError } from "../errors.js";
import { poisonQueue } from "../names.js";
import type { QueueMessage, WorkQueue } from "../ports.js";
import { assertQueueName, decodeQueueMessage, delaySeconds, encodeQueueMessage, leaseLostError, MAX_RECEIVE_BATCH } from "./queueMessages.js";
import { serviceCodeOf, statusOf, translateStorageError } from "./tableErrors.js";

export interface StorageQueueOptions {
  /** Azurite/dev or shared-key/SAS connection string; `UseDevelopmentStorage=true` works too. */
  connectionString?: string;
  /** Identity-based: the queue service URL (`AzureWebJobsStorage__queueServiceUri`) plus a credential. */
  accountUrl?: string;
  credential?: TokenCredential;
  name: string;
}

export type StorageWorkQueue<T> = WorkQueue<T> & {
  /** Creates the queue and its poison queue when missing (idempotent). */
  ensure(): Promise<void>;
  /** The `<name>-poison` queue the Functions host moves messages to after maxDequeueCount. */
  poison(): StorageWorkQueue<T>;
};

/** A WorkQueue on Azure Storage Queues (or Azurite); bodies are base64 JSON as the host expects. */
export async function createStorageQueue<T>(options: StorageQueueOptions): Promise<StorageWorkQueue<T>> {
  assertQueueName(options.name);
  return storageQueue<T>(serviceClient(options), options.name);
}

function storageQueue<T>(service: QueueServiceClient, name: string): StorageWorkQueue<T> {
  const client: QueueClient = service.getQueueClient(name);
  const call = async <R>(operation: string, fn: () => Promise<R>): Promise<R> => {
    try {
      return await fn();
    } catch (e) {
      throw translateStorageError(e, `${operation} on queue ${name}`);
    }
  };
  const leaseLost = (e: unknown) => statusOf(e) === 400 && serviceCodeOf(e) === "PopReceiptMismatch";

  return {
    name,
    async ensure() {
      await call("create queue", () => client.createIfNotExists());
      await call("create queue", () => service.getQueueClient(poisonQueue(name)).createIfNotExists());
    },
    poison: () => storageQueue<T>(service, poisonQueue(name)),
    async send(message, opts) {
      const text = encodeQueueMessage(message, name);
      // TTL -1: work must not silently expire after the 7-day default while waiting for a retry.
      await call("send", () => client.sendMessage(text, { visibilityTimeout: delaySeconds(opts?.delayMs), messageTimeToLive: -1 }));
    },
    async receive(max, visibilityMs) {
      const count = Math.min(Math.floor(max), MAX_RECEIVE_BATCH);
      if (count < 1) return [];
      const visibilityTimeout = Math.max(1, delaySeconds(visibilityMs));
      const res = await call("receive", () => client.receiveMessages({ numberOfMessages: count, visibilityTimeout }));
      return res.receivedMessageItems.map((m): QueueMessage<T> => ({
        id: m.messageId,
        popReceipt: m.popReceipt,
        dequeueCount: m.dequeueCount,
        body: decodeQueueMessage(m.messageText) as T,
      }));
    },
    async complete(message) {
      try {
        await client.deleteMessage(message.id, message.popReceipt);
      } catch (e) {
        if (statusOf(e) === 404) return; // already gone: completing twice is harmless
        if (leaseLost(e)) throw leaseLostError(name, message.id, e);
        throw translateStorageError(e, `complete on queue ${name}`);
      }
    },
    async abandon(message, delayMs) {
      try {
        await client.updateMessage(message.id, message.popReceipt, undefined, delaySeconds(delayMs));
      } catch (e) {
        if (statusOf(e) === 404) return;
        if (leaseLost(e)) throw leaseLostError(name, message.id, e);
        throw translateStorageError(e, `abandon on queue ${name}`);
      }
    },
    async extend(message, visibilityMs) {
      try {
        const res = await client.updateMessage(message.id, message.popReceipt, undefined, Math.max(1, delaySeconds(visibilityMs)));
        if (res.popReceipt) message.popReceipt = res.popReceipt;
      } catch (e) {
        if (statusOf(e) === 404 || leaseLost(e)) throw leaseLostError(name, message.id, e);
        throw translateStorageError(e, `extend on queue ${name}`);
      }
    },
    async approximateCount() {
      const props = await call("count", () => client.getProperties());
      return props.approximateMessagesCount ?? 0;
    },
  };
}

function serviceClient(options: StorageQueueOptions): QueueServiceClient {
  if (options.connectionString) {
    try {
      return QueueServiceClient.fromConnectionString(options.connectionString);
    } catch {
      // The SDK's message may quote the connection string; ours never does.
      throw new SyncError("validation", ErrorCodes.InvalidSetting, "the storage connection string is malformed");
    }
  }
  if (options.accountUrl && options.credential) return new QueueServiceClient(options.accountUrl, options.credential);
  throw new SyncError("validation", ErrorCodes.InvalidSetting, "a storage queue needs a connection string, or a queue service URL together with a credential");
}
