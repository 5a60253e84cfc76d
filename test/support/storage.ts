import { inject } from "vitest";
import { randomBytes } from "node:crypto";

/** The connection string of the Azurite started by the global setup. */
export function azuriteConnectionString(): string {
  return inject("azuriteConnectionString");
}

/** A name that is unique to this test, valid as a Table name (letters/digits) and a queue name (lower case). */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString("hex")}`.toLowerCase();
}
