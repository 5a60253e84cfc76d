/** A tiny raw HTTP helper for tests that talk to the sample app directly (not through the client). */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function call(baseUrl: string, apiKey: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
