import type { TestProject } from "vitest/node";
import { startAzurite, type AzuriteHandle } from "./azurite.js";

let azurite: AzuriteHandle | undefined;

/** One Azurite for the whole run; tests isolate themselves with unique table and queue names. */
export async function setup(project: TestProject): Promise<void> {
  azurite = await startAzurite();
  project.provide("azuriteConnectionString", azurite.connectionString);
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}
