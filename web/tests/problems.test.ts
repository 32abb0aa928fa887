import { expect, test } from "vitest";
import { problemSlug, toShown } from "../src/api/problems";

function answer(status: number, headers: Record<string, string> = {}) {
  return new Response(null, { status, headers });
}

test("field problems land on the field named by the last part of loc", () => {
  const shown = toShown(
    { type: "https://x/problems/invalid-input", title: "Invalid input", status: 422, errors: [{ loc: ["body", "email"], msg: "Value error, not an email address" }] },
    answer(422),
  );
  expect(shown.fields).toEqual({ email: "not an email address" });
  expect(shown.type).toBe("invalid-input");
});

test("429 says when to retry from Retry-After", () => {
  expect(toShown({ type: "rate-limited", title: "Too many", status: 429 }, answer(429, { "Retry-After": "30" })).message).toBe(
    "Too many attempts. Try again in 30 seconds.",
  );
  expect(toShown({ type: "x", title: "Down", status: 503 }, answer(503, { "Retry-After": "600" })).message).toMatch(/in 10 minutes/);
});

test("no response at all reads as the network being gone", () => {
  expect(toShown(new TypeError("Failed to fetch")).type).toBe("network");
});

test("the slug is the type's last path part", () => {
  expect(problemSlug("https://mcm.example/problems/sign-in-code-required")).toBe("sign-in-code-required");
});
