/**
 * The sign-in page against fetch answers shaped like auth's: the emailed-code step-up, field and
 * page problems, and the browser headers (cookie delivery + CSRF) on the login request.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { SessionProvider } from "../src/auth/session";
import { SignIn } from "../src/pages/SignIn";
import { tokens } from "../src/auth/tokens";

const problem = (status: number, type: string, title: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: `https://mcm.example/problems/${type}`, title, status }), {
    status,
    headers: { "Content-Type": "application/problem+json", ...headers },
  });

let requests: Request[] = [];
let answers: Response[] = [];

beforeEach(() => {
  requests = [];
  answers = [];
  tokens.clear();
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"), init);
    requests.push(request);
    if (new URL(request.url).pathname === "/api/v1/auth/refresh") return problem(401, "invalid-refresh-token", "No");
    return answers.shift() ?? problem(500, "unexpected", "Unexpected request");
  });
});
afterEach(() => vi.unstubAllGlobals());

function renderSignIn() {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={["/sign-in"]}>
        <SessionProvider>
          <Routes>
            <Route path="/sign-in" element={<SignIn />} />
            <Route path="/" element={<h1>Home</h1>} />
          </Routes>
        </SessionProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

async function fillAndSubmit() {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText(/^Email/), "sam@example.org");
  await user.type(screen.getByLabelText(/^Password/), "correct horse");
  await user.click(screen.getByRole("button", { name: "Sign in" }));
  return user;
}

test("a required sign-in code adds the Code field, and the code is sent with the retry", async () => {
  answers.push(problem(401, "sign-in-code-required", "A sign-in code is required"));
  answers.push(new Response(JSON.stringify({ access_token: "a.b.c", refresh_token: null, token_type: "bearer", expires_in: 900 }), { status: 200, headers: { "Content-Type": "application/json" } }));
  renderSignIn();
  expect(screen.queryByLabelText(/^Code/)).toBeNull();
  const user = await fillAndSubmit();
  const code = await screen.findByLabelText(/^Code/);
  await user.type(code, "123456");
  await user.click(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByRole("heading", { name: "Home" })).toBeInTheDocument();
  const logins = requests.filter((r) => new URL(r.url).pathname === "/api/v1/auth/login");
  expect(logins).toHaveLength(2);
  expect(await logins[1]!.json()).toMatchObject({ email: "sam@example.org", code: "123456" });
  expect(logins[1]!.headers.get("X-CSRF")).toBe("1");
  expect(logins[1]!.headers.get("X-Refresh-Cookie")).toBe("1");
  expect(tokens.access()).toBe("a.b.c");
});

test("wrong credentials are shown as a page alert and nothing is signed in", async () => {
  answers.push(problem(401, "invalid-credentials", "Invalid email or password"));
  renderSignIn();
  await fillAndSubmit();
  expect(await screen.findByRole("alert")).toHaveTextContent("Invalid email or password");
  expect(tokens.access()).toBeNull();
});

test("429 says when to try again", async () => {
  answers.push(problem(429, "rate-limited", "Too many requests", { "Retry-After": "42" }));
  renderSignIn();
  await fillAndSubmit();
  expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 42 seconds.");
});
