/**
 * problem+json answers (RFC 9457) turned into what a page shows: one message for the page and
 * one per form field (from `errors[].loc`, the last part naming the field), plus when to retry
 * for 429 (Retry-After) and 503.
 */
import type { components } from "./schema";

type ProblemBody = components["schemas"]["Problem"];

export interface ShownProblem {
  status: number;
  type: string;
  message: string;
  fields: Record<string, string>;
}

function retryText(response: Response | undefined): string {
  const after = Number(response?.headers.get("Retry-After"));
  if (Number.isFinite(after) && after > 0) {
    return after < 90 ? `Try again in ${Math.ceil(after)} seconds.` : `Try again in ${Math.ceil(after / 60)} minutes.`;
  }
  return "Try again in a moment.";
}

/** The problem's type slug: `https://…/problems/sign-in-code-required` → `sign-in-code-required`. */
export function problemSlug(type: string | undefined): string {
  return (type ?? "").replace(/\/+$/, "").split("/").pop() ?? "";
}

export function toShown(error: unknown, response?: Response): ShownProblem {
  const status = response?.status ?? 0;
  if (!response) {
    return { status: 0, type: "network", message: "The network is unreachable. Check your connection and try again.", fields: {} };
  }
  const body = (error ?? {}) as Partial<ProblemBody>;
  const fields: Record<string, string> = {};
  for (const item of body.errors ?? []) {
    const loc = (item as { loc?: unknown }).loc;
    const msg = (item as { msg?: unknown }).msg;
    if (Array.isArray(loc) && loc.length > 1 && typeof msg === "string") {
      const field = String(loc[loc.length - 1]);
      fields[field] ??= msg.replace(/^Value error, /, "");
    }
  }
  let message = body.detail ?? body.title ?? `The request failed (${status}).`;
  if (status === 429) message = `Too many attempts. ${retryText(response)}`;
  else if (status === 503) message = `The service is unavailable right now. ${retryText(response)}`;
  else if (status === 422 && Object.keys(fields).length > 0) message = body.title ?? "Please check the highlighted fields.";
  return { status, type: problemSlug(body.type), message, fields };
}

/** Thrown by query functions so TanStack Query and pages see one shape. */
export class ApiProblem extends Error {
  constructor(readonly shown: ShownProblem) {
    super(shown.message);
  }
}
