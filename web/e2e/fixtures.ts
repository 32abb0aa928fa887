/**
 * What every browser test shares: a page that fails the test on any CSP violation or console
 * error, axe-core checks, and the codes the mail sink received.
 */
import { readFileSync } from "node:fs";
import { test as base, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

export const test = base.extend<{ problems: string[] }>({
  problems: async ({ page }, use) => {
    const problems: string[] = [];
    page.on("console", (message) => {
      const text = message.text();
      // A CSP violation is reported on the console as an error naming the policy.
      // Expected API refusals (a wrong code, 401 before a refresh) are logged by Chromium as
      // failed resource loads; anything else logged as an error fails the test.
      if (message.type() === "error" && !/the server responded with a status of 4\d\d/.test(text)) problems.push(text);
      if (/Content Security Policy|Content-Security-Policy/i.test(text)) problems.push(`CSP: ${text}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    await use(problems);
    expect(problems, "console errors or CSP violations").toEqual([]);
  },
});
export { expect };

export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

interface Mail {
  rcpt_tos: string[];
  subject: string;
  body: string;
}

export async function emailedCode(to: string, subject: string): Promise<string> {
  const store = process.env.MAIL_STORE;
  if (!store) throw new Error("MAIL_STORE (the mail sink's JSON file) is not set");
  for (let attempt = 0; attempt < 100; attempt++) {
    let mails: Mail[] = [];
    try {
      mails = JSON.parse(readFileSync(store, "utf8")) as Mail[];
    } catch {
      // not written yet
    }
    const mail = mails.reverse().find((m) => m.rcpt_tos.includes(to) && m.subject.includes(subject));
    const code = mail?.body.match(/\b(\d{6})\b/)?.[1];
    if (code) return code;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no email "${subject}" to ${to}`);
}
