/**
 * `POST /_emulator/as-user` and `GET /_emulator/users`: make a Web API request as any user of the
 * emulator, named in the body instead of by a token. It is how a test or a person at a terminal
 * plays "someone edited this row in Dynamics": the write is attributed to that user (modifiedby,
 * the webhook's InitiatingUserId), so the sync does not take it for an echo of its own writes.
 * The emulator's own control API, never product code; real Dataverse has no such route.
 */
import type { DataverseEmulator } from "./emulator.js";
import type { Store } from "./store.js";
import type { EmulatorContext, EmuResponse } from "./types.js";

export interface ActAsRequest {
  /** systemuserid of an existing user (see `GET /_emulator/users`). */
  userId: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Below the service root, e.g. `msdyn_customerassets(msdyn_assetnumber='A-1001')`. */
  path: string;
  /** The JSON body of a POST or PATCH. */
  body?: unknown;
  /** Sent as `If-Match` (e.g. `*` or `W/"12"`). */
  ifMatch?: string;
}

export interface EmulatorUser {
  systemuserid: string;
  fullname: unknown;
  applicationid: unknown;
}

/** Thrown for a request the route cannot run; the message names the problem. */
export class ActAsInputError extends Error {}

const Methods = ["GET", "POST", "PATCH", "DELETE"] as const;

export function parseActAs(input: unknown): ActAsRequest {
  if (!input || typeof input !== "object" || Array.isArray(input)) throw new ActAsInputError("The body must be a JSON object {userId, method, path, body?, ifMatch?}.");
  const raw = input as Record<string, unknown>;
  if (typeof raw.userId !== "string" || !raw.userId) throw new ActAsInputError("userId must be the systemuserid of a user (GET /_emulator/users lists them).");
  const method = typeof raw.method === "string" ? raw.method.toUpperCase() : "";
  if (!(Methods as readonly string[]).includes(method)) throw new ActAsInputError(`method must be one of ${Methods.join(", ")}.`);
  if (typeof raw.path !== "string" || !raw.path || /^[a-z]+:/i.test(raw.path)) {
    throw new ActAsInputError("path must be a path below the service root, e.g. contacts(hlf_mentorid='m-0001').");
  }
  if (raw.ifMatch !== undefined && typeof raw.ifMatch !== "string") throw new ActAsInputError("ifMatch must be a string.");
  return { userId: raw.userId, method: method as ActAsRequest["method"], path: raw.path.replace(/^\/+/, ""), body: raw.body, ifMatch: raw.ifMatch as string | undefined };
}

/** Runs the request through the same router a token-authenticated request takes. */
export async function actAs(request: ActAsRequest, ctx: EmulatorContext, store: Store): Promise<EmuResponse> {
  const userId = request.userId.toLowerCase();
  if (!store.get("systemuser", userId)) throw new ActAsInputError(`No user has systemuserid ${request.userId} (GET /_emulator/users lists them).`);
  const headers: Record<string, string> = { accept: "application/json", "content-type": "application/json" };
  if (request.ifMatch) headers["if-match"] = request.ifMatch;
  if (request.method === "POST" || request.method === "PATCH") headers.prefer = "return=representation";
  const body = request.body === undefined ? "" : JSON.stringify(request.body);
  return ctx.dispatch({ method: request.method, url: new URL(request.path, ctx.serviceRoot), headers, body, userId });
}

export function listUsers(store: Store): EmulatorUser[] {
  return [...store.rows("systemuser")].map((r) => ({ systemuserid: String(r.systemuserid), fullname: r.fullname ?? null, applicationid: r.applicationid ?? null }));
}

/** The person `npm start` and `npm run emulator` add next to the integration's application user. */
export const LocalPerson = { fullName: "Robin Local (a person)", domainName: "robin@local.example" } as const;

/**
 * Adds the person's systemuser row for a token client: the emulator maps a client to its user by
 * id, so with the row in place first, that client's writes are attributed to a named person.
 */
export function addPersonUser(dataverse: Pick<DataverseEmulator, "schema" | "insert" | "userIdFor">, clientId: string): string {
  const userId = dataverse.userIdFor(clientId);
  const users = dataverse.schema.tables.get("systemuser");
  const body: Record<string, unknown> = { systemuserid: userId };
  if (users?.columnMap.has(users.primaryName)) body[users.primaryName] = LocalPerson.fullName;
  if (users?.columnMap.has("domainname")) body.domainname = LocalPerson.domainName;
  dataverse.insert("systemuser", body);
  return userId;
}
