import { app, type HttpFunctionOptions, type StorageQueueFunctionOptions, type TimerFunctionOptions } from "@azure/functions";

/**
 * Every function registers through here: the Azure host gets the ordinary `app.*` registration,
 * and the local runner (which cannot run the Functions host) reads the same definitions to serve
 * the same handlers. Under the local runner the `app.*` calls are skipped: without the host the
 * library would only print a warning per registration.
 */
export type FunctionDefinition =
  | { kind: "http"; name: string; options: HttpFunctionOptions }
  | { kind: "timer"; name: string; options: TimerFunctionOptions }
  | { kind: "storageQueue"; name: string; options: StorageQueueFunctionOptions };

export const definitions: FunctionDefinition[] = [];

const local = () => process.env.D365_SYNC_LOCAL_RUNNER === "1";

// The CSV export (and any other large answer) streams: without this the worker buffers a
// ReadableStream body whole before the host sends it. It must run before the first registration,
// and every function module imports this one first. (Host 4.28+, @azure/functions 4.3+.)
if (!local()) app.setup({ enableHttpStream: true });

export function http(name: string, options: HttpFunctionOptions): void {
  definitions.push({ kind: "http", name, options });
  if (!local()) app.http(name, options);
}

export function timer(name: string, options: TimerFunctionOptions): void {
  definitions.push({ kind: "timer", name, options });
  if (!local()) app.timer(name, options);
}

export function storageQueue(name: string, options: StorageQueueFunctionOptions): void {
  definitions.push({ kind: "storageQueue", name, options });
  if (!local()) app.storageQueue(name, options);
}

/** The storage connection every trigger uses (identity-based `AzureWebJobsStorage__*` in Azure). */
export const STORAGE_CONNECTION = "AzureWebJobsStorage";
