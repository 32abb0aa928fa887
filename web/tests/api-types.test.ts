// @vitest-environment node
/** The committed API types match the gateway's merged OpenAPI document (the contracts snapshot). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import openapiTS, { astToString } from "openapi-typescript";

test("src/api/schema.d.ts is regenerated from tests/contracts/openapi.json", async () => {
  const root = path.resolve(__dirname, "..");
  const document = JSON.parse(readFileSync(path.join(root, "..", "tests", "contracts", "openapi.json"), "utf8"));
  const committed = readFileSync(path.join(root, "src", "api", "schema.d.ts"), "utf8");
  const fresh = astToString(await openapiTS(document));
  // On failure: `npm run gen:api` and commit src/api/schema.d.ts.
  expect(committed.slice(committed.indexOf("\n") + 1)).toBe(fresh);
});
