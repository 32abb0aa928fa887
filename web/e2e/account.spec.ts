/** A member's account journey through the gateway: sign up → verify → signed in → reload → sign out. */
import { test, expect, expectAccessible, emailedCode } from "./fixtures";

const password = "a long enough passphrase 42";

test("sign up, verify the emailed code, stay signed in across a reload, sign out", async ({ page, problems }) => {
  const email = `web-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;

  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expectAccessible(page);

  // Installable: the manifest, and the service worker that caches the app shell is active.
  const manifest = await page.request.get("/manifest.webmanifest");
  expect(manifest.ok()).toBe(true);
  expect(await manifest.json()).toMatchObject({ name: "Men's Circles", start_url: "/", display: "standalone" });
  const worker = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
  expect(worker).toMatch(/\/sw\.js$/);

  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page.getByRole("heading", { name: "Create your account" })).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel("Display name").fill("Web Walker");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page.getByRole("heading", { name: "Verify your email" })).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel("Code").fill("000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toBeVisible(); // a wrong code is said at the page
  await page.getByLabel("Code").fill(await emailedCode(email, "verification code"));
  await page.getByRole("button", { name: "Verify" }).click();

  await expect(page.getByRole("heading", { name: "My circles" })).toBeVisible();
  await expect(page.getByText("You are not in a circle yet.")).toBeVisible();
  await expectAccessible(page);

  // The access token lived in memory only: the reload is signed in again through the cookie.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  expect(stored).not.toContain("eyJ"); // no token in web storage
  expect(await page.evaluate(() => document.cookie)).toBe(""); // the refresh cookie is HttpOnly
  await page.reload();
  await expect(page.getByRole("heading", { name: "My circles" })).toBeVisible();

  await page.getByRole("link", { name: "Circles", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Circles" })).toBeVisible();
  await expect(page.getByRole("progressbar")).toHaveCount(0);
  await expectAccessible(page);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.reload();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible(); // the cookie is gone

  // Signing in again with the password lands on My circles.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "My circles" })).toBeVisible();
  expect(problems).toEqual([]);
});

test("a wrong password is said on the sign-in page", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill("nobody@example.org");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText(/invalid email or password/i);
});
