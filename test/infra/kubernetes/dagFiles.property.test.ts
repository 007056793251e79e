// Property: for any set of valid flat file names, every ConfigMap key is a valid key and the ConfigMap, mounted
// whole (no item list), holds every file under its own name with its content.
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { dagConfigMap } from "../../../infra/kubernetes/dagFiles.js";

const name = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}$/);
const files = fc.dictionary(name, fc.string({ maxLength: 40 }), { minKeys: 1, maxKeys: 20 });

describe("dagConfigMap (property)", () => {
  it("keys are valid ConfigMap keys and each file is its own key with its content", () => {
    fc.assert(
      fc.property(files, (given) => {
        const got = dagConfigMap(given);
        for (const key of Object.keys(got.data)) {
          expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
          expect(key.startsWith("..")).toBe(false);
        }
        const { [".airflowignore"]: _ignore, ...rest } = got.data;
        expect(rest).toEqual({ ...given });
      }),
      { numRuns: 300 },
    );
  });
});
