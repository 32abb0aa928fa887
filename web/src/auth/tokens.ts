/**
 * Where the access token lives: in this module's memory only (never localStorage, never a
 * cookie readable by script), so a reload starts without one and asks auth for a new pair with
 * the HttpOnly refresh cookie. The refresh token itself never reaches JavaScript.
 */
export const CSRF_HEADER = "X-CSRF";
/** Asks auth to deliver (login) or read (refresh) the refresh token as an HttpOnly cookie. */
export const COOKIE_HEADER = "X-Refresh-Cookie";
/** What every cookie-authenticated auth call sends. */
export const cookieHeaders = { [CSRF_HEADER]: "1", [COOKIE_HEADER]: "1" } as const;

let access: string | null = null;
let inflight: Promise<string | null> | null = null;
const listeners = new Set<() => void>();

function set(token: string | null) {
  access = token;
  listeners.forEach((listener) => listener());
}

async function refreshOnce(): Promise<string | null> {
  try {
    const response = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      credentials: "same-origin",
      // The custom header is the CSRF defence: a cross-site form cannot send it, and a
      // cross-site fetch with it needs a CORS preflight the gateway refuses.
      headers: { "Content-Type": "application/json", ...cookieHeaders },
      body: "{}",
    });
    if (!response.ok) {
      set(null);
      return null;
    }
    const body = (await response.json()) as { access_token: string };
    set(body.access_token);
    return body.access_token;
  } catch {
    return null; // offline: keep whatever we had, the caller shows the network problem
  }
}

export const tokens = {
  access: () => access,
  set,
  clear: () => set(null),
  /** One refresh at a time: parallel 401s share it (a rotated cookie may be used only once). */
  refresh(): Promise<string | null> {
    inflight ??= refreshOnce().finally(() => {
      inflight = null;
    });
    return inflight;
  },
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
};
