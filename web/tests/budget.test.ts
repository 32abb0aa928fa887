// @vitest-environment node
/**
 * The first page's JavaScript stays within 200 KB gzipped: a production build into a temporary
 * directory, then every script index.html loads (module entry and modulepreloads) and every
 * chunk those import statically, gzipped and summed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, expect, test } from "vitest";
import { build } from "vite";

const BUDGET_BYTES = 200 * 1024;
const outDir = mkdtempSync(path.join(tmpdir(), "mcm-web-budget-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function staticImports(file: string): string[] {
  const code = readFileSync(path.join(outDir, file), "utf8");
  // Static `import … from "./x.js"` / `import "./x.js"` between chunks (dynamic import() excluded).
  const found = [...code.matchAll(/(?:^|[;\n}])\s*import\s*(?:[\w${}\s,*]+from\s*)?["'](\.\/[^"']+\.js)["']/g)];
  return found.map((match) => path.posix.join(path.posix.dirname(file), match[1]!));
}

test("the first page's JavaScript is at most 200 KB gzipped", { timeout: 120_000 }, async () => {
  // Vitest sets NODE_ENV=test, which would bundle React's development build.
  process.env.NODE_ENV = "production";
  await build({ root: path.resolve(__dirname, ".."), mode: "production", logLevel: "silent", build: { outDir, emptyOutDir: true } });
  const html = readFileSync(path.join(outDir, "index.html"), "utf8");
  const queue = [
    ...html.matchAll(/<script[^>]*type="module"[^>]*src="\/([^"]+)"/g),
    ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="\/([^"]+)"/g),
  ].map((match) => match[1]!);
  expect(queue.length).toBeGreaterThan(0);
  const seen = new Set<string>();
  let total = 0;
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    total += gzipSync(readFileSync(path.join(outDir, file)), { level: 9 }).length;
    queue.push(...staticImports(file));
  }
  console.log(`first-page JavaScript: ${(total / 1024).toFixed(1)} KB gzipped in ${seen.size} file(s)`);
  expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
});
