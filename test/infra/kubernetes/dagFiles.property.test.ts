// Property: for any set of valid relative paths the ConfigMap keys are valid, unique, and the volume
// projection puts every file back at its original path with its content.
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { dagConfigMap } from "../../../infra/kubernetes/dagFiles.js";

const segment = fc
  .stringMatching(/^[A-Za-z0-9_-](?:[A-Za-z0-9._-]{0,10}[A-Za-z0-9_-])?$/)
  .filter((s) => !s.includes(".."));
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));
// Paths where no file is also a directory of another file (that case is an error, tested separately).
const files = fc
  .dictionary(path, fc.string({ maxLength: 40 }), { minKeys: 1, maxKeys: 20 })
  .filter((d) => Object.keys(d).every((p) => !Object.keys(d).some((q) => q.startsWith(`${p}/`))));

describe("dagConfigMap (property)", () => {
  it("keys are valid and unique, and items restore every path with its content", () => {
    fc.assert(
      fc.property(files, (given) => {
        const got = dagConfigMap(given);
        const keys = got.items.map((i) => i.key);
        expect(new Set(keys).size).toBe(keys.length);
        for (const key of keys) {
          expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
          expect(key.startsWith("..")).toBe(false);
        }
        const restored = Object.fromEntries(
          got.items.filter((i) => i.path !== ".airflowignore").map((i) => [i.path, got.data[i.key]]),
        );
        expect(restored).toEqual({ ...given });
      }),
      { numRuns: 300 },
    );
  });
});
