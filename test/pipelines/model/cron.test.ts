import { describe, expect, it } from "vitest";
import { cronProblem } from "../../../pipelines/src/model/cron.js";

describe("cronProblem", () => {
  const ok = [
    "0 5 * * *",
    "*/15 * * * *",
    "0 0-6/2 1,15 * MON-FRI",
    "59 23 31 DEC 7",
    "@daily",
    "@quarterly",
  ];
  it.each(ok)("accepts %s", (expr) => expect(cronProblem(expr)).toBeUndefined());

  const bad: [string, RegExp][] = [
    ["", /5 fields, got 1/],
    ["* * * *", /5 fields, got 4/],
    ["0 5 * * * *", /5 fields, got 6/],
    ["60 * * * *", /minute "60" is outside 0-59/],
    ["0 24 * * *", /hour "24" is outside 0-23/],
    ["0 0 0 * *", /day of month "0" is outside 1-31/],
    ["0 0 * 13 *", /month "13" is outside 1-12/],
    ["0 0 * * 8", /day of week "8" is outside 0-7/],
    ["0 0 * FOO *", /month "FOO"/],
    ["*/0 * * * *", /bad step/],
    ["5-1 * * * *", /empty range/],
    ["1-2-3 * * * *", /bad range/],
    ["0 0 * * ,", /bad day of week/],
    ["@fortnightly", /unknown preset/],
  ];
  it.each(bad)("rejects %j", (expr, want) => expect(cronProblem(expr)).toMatch(want));
});
