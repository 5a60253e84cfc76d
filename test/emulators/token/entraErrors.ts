import { randomUUID } from "node:crypto";

/** The AADSTS errors the emulator answers with; codes and texts follow Entra's own responses. */
export const EntraErrors = {
  invalidClientSecret: {
    status: 401,
    error: "invalid_client",
    code: 7000215,
    text: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client}'.",
  },
  unknownClient: {
    status: 400,
    error: "unauthorized_client",
    code: 700016,
    text: "Application with identifier '{client}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
  },
  invalidScope: {
    status: 400,
    error: "invalid_scope",
    code: 70011,
    text: "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
  },
  unsupportedGrant: {
    status: 400,
    error: "unsupported_grant_type",
    code: 70003,
    text: "The app requested an unsupported grant type '{grant}'.",
  },
  missingSecret: {
    status: 401,
    error: "invalid_client",
    code: 7000216,
    text: "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
  },
  missingClient: {
    status: 400,
    error: "invalid_request",
    code: 900144,
    text: "The request body must contain the following parameter: 'client_id'.",
  },
  unknownTenant: {
    status: 400,
    error: "invalid_tenant",
    code: 90002,
    text: "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
  },
} as const;

export type EntraError = (typeof EntraErrors)[keyof typeof EntraErrors];

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

/** Builds the JSON body Entra sends for a failed token request (MSAL surfaces `error_description`). */
export function entraErrorBody(kind: EntraError, vars: Record<string, string>, authorityHost: string, now: Date): EntraErrorBody {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const text = kind.text.replace(/\{(\w+)\}/g, (_, name: string) => vars[name] ?? "");
  // Entra's timestamp format: "2024-05-01 12:00:00Z"
  const timestamp = now.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  return {
    error: kind.error,
    error_description: `AADSTS${kind.code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [kind.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${authorityHost}/error?code=${kind.code}`,
  };
}
