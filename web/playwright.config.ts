/**
 * End-to-end journeys in Debian's Chromium (/usr/bin/chromium: browser downloads are not
 * possible here, so Playwright never installs one) against a platform that is already running.
 * tests/e2e/test_web_journeys.py starts it the way `make run` does and sets WEB_BASE_URL and
 * MAIL_STORE (the mail sink's JSON file); run by hand against `make run` with
 * WEB_BASE_URL=http://127.0.0.1:8000 MAIL_STORE=.data/sinks/mail.json npx playwright test.
 */
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "e2e",
  timeout: 60_000,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: process.env.WEB_BASE_URL ?? "http://127.0.0.1:8000",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox"],
    },
    viewport: { width: 360, height: 740 }, // mobile first: the narrowest layout the app supports
    trace: "off",
  },
});
