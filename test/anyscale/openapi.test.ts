// The OpenAPI document: generated types must match it (regenerated here with the openapi-typescript Node API),
// and the exchange validator must really reject what the document forbids (so emulator checks can fail).
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import { describe, expect, it } from "vitest";
import { OPENAPI_PATH, validateExchange } from "./helpers.js";

const GENERATED = fileURLToPath(new URL("../../infra/anyscale/schema.generated.ts", import.meta.url));

describe("schema.generated.ts", () => {
  it("is what `npm run anyscale:generate` makes from openapi.yaml (run it after editing the document)", async () => {
    const fresh = `${COMMENT_HEADER}${astToString(await openapiTS(pathToFileURL(OPENAPI_PATH)))}`;
    expect(readFileSync(GENERATED, "utf8")).toBe(fresh);
  });
});

describe("exchange validator", () => {
  const template = {
    method: "GET",
    path: "/api/v2/clouds/cld_1",
    query: {},
    requestBody: undefined,
    injected: false,
    afterCommit: false,
  };
  const cloud = {
    id: "cld_1",
    name: "c",
    provider: "AWS",
    region: "us-west-2",
    credentials: "",
    type: "PUBLIC",
    creator_id: "u",
    created_at: "2026-01-01T00:00:00Z",
    is_default: true,
    customer_aggregated_logs_config_id: "",
  };
  const cases = [
    { name: "valid cloud", x: { ...template, status: 200, responseBody: { result: cloud } }, ok: true },
    {
      name: "unknown provider",
      x: { ...template, status: 200, responseBody: { result: { ...cloud, provider: "IBM" } } },
      ok: false,
    },
    { name: "missing result envelope", x: { ...template, status: 200, responseBody: cloud }, ok: false },
    {
      name: "bad date",
      x: { ...template, status: 200, responseBody: { result: { ...cloud, created_at: "yesterday" } } },
      ok: false,
    },
    {
      name: "error envelope",
      x: { ...template, status: 404, responseBody: { error: { detail: "nope" } } },
      ok: true,
    },
    {
      name: "bare FastAPI error",
      x: { ...template, status: 404, responseBody: { detail: "nope" } },
      ok: false,
    },
    {
      name: "undocumented path",
      x: { ...template, path: "/api/v2/other", status: 200, responseBody: {} },
      ok: false,
    },
    {
      name: "accepted create without config",
      x: {
        ...template,
        method: "POST",
        path: "/api/v2/compute_templates/",
        requestBody: { name: "x" },
        status: 200,
        responseBody: {},
      },
      ok: false,
    },
    {
      name: "rejected create without config",
      x: {
        ...template,
        method: "POST",
        path: "/api/v2/compute_templates/",
        requestBody: { name: "x" },
        status: 422,
        responseBody: {
          error: {
            message: "m",
            detail: [{ loc: ["body", "config"], msg: "field required", type: "value_error.missing" }],
          },
        },
      },
      ok: true,
    },
  ];
  it.each(cases)("$name", ({ x, ok }) => {
    expect(validateExchange(x).length === 0).toBe(ok);
  });
});
