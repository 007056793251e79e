// The e2e's S3 request signer against botocore's (the signer boto3 uses), given/want: same request, same time,
// same credentials -> the same Authorization header.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { signS3 } from "../../local/e2e/sigv4.js";

const REPO = new URL("../..", import.meta.url).pathname;
const PYTHON = `${REPO}.venv/bin/python`;
const FIXED = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const CASES: [string, string][] = [
  // percent-encoded as boto3 sends them (botocore signs the query string as given)
  ["GET", "http://127.0.0.1:9000/bucket?list-type=2&prefix=datasets%2Fviggo%2F"],
  ["GET", "http://127.0.0.1:9000/bucket?prefix=a%20b%2Fc&list-type=2&continuation-token=x%2By%3D%3D"],
  ["GET", "http://127.0.0.1:9000/bucket/datasets/viggo/seed-500/train.jsonl"],
  ["PUT", "http://127.0.0.1:9000/bucket/drops/viggo/file%20name%2Bx.jsonl"],
  ["HEAD", "http://localhost:4566/b/lora/viggo-20261202t171450/adapter_config.json"],
  ["DELETE", "http://127.0.0.1:9000/b/k~ey_%281%29.json"],
];

describe.skipIf(!existsSync(PYTHON))("signS3 (needs .venv: npm run setup:python)", () => {
  it("signs as botocore does", () => {
    const want = JSON.parse(
      execFileSync(PYTHON, [`${REPO}test/local/fixtures/botocore_sigv4.py`, JSON.stringify(CASES)], {
        encoding: "utf8",
      }),
    ) as string[];
    const got = CASES.map(
      ([method, url]) =>
        signS3(
          method,
          new URL(url),
          { accessKeyId: "AKID", secretAccessKey: "SECRET", region: "us-east-1" },
          FIXED,
        ).authorization,
    );
    expect(got).toEqual(want);
  });
});
