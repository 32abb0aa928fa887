/**
 * The one typed API client: openapi-fetch over the generated `paths` (src/api/schema.d.ts).
 *
 * Every request goes to the same origin (the gateway serves the app), carries the in-memory
 * access token, and on a 401 refreshes once through the HttpOnly cookie before giving up.
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { tokens } from "../auth/tokens";

// openapi-fetch hands fetch() the request itself, so its body is gone by the time a 401 comes
// back: keep an untouched copy to replay after the refresh.
const copies = new WeakMap<Request, Request>();
const retried = new WeakSet<Request>();

const bearer: Middleware = {
  async onRequest({ request }) {
    const token = tokens.access();
    if (token && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    copies.set(request, request.clone());
    return request;
  },
  async onResponse({ request, response }) {
    // A stale access token: refresh once with the cookie and replay; a second 401 stands.
    if (response.status !== 401 || retried.has(request) || !tokens.access()) return response;
    if (new URL(request.url).pathname.startsWith("/api/v1/auth/")) return response;
    const refreshed = await tokens.refresh();
    if (!refreshed) return response;
    const replay = copies.get(request) ?? request;
    replay.headers.set("Authorization", `Bearer ${refreshed}`);
    retried.add(replay);
    return fetch(replay);
  },
};

export function makeClient(baseUrl = "") {
  // fetch looked up per call (not captured at start-up), so tests and the service worker's
  // replacements of the global are honoured.
  const client = createClient<paths>({ baseUrl, credentials: "same-origin", fetch: (request) => globalThis.fetch(request) });
  client.use(bearer);
  return client;
}

export const api = makeClient(typeof window === "undefined" ? "http://localhost" : window.location.origin);
export type { paths, components } from "./schema";
