// The Anyscale connection (an API token) may live only in Secrets Manager or a Kubernetes Secret.
import { type RuleResource } from "./types.js";

/** Resource types allowed to hold the Anyscale connection's secret value. */
export const ANYSCALE_SECRET_HOLDERS = [
  "aws:secretsmanager/secretVersion:SecretVersion",
  "kubernetes:core/v1:Secret",
];

const ANYSCALE_VALUE_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /"conn_type"\s*:\s*"anyscale"[^{}]*"password"\s*:\s*"[^"]+"/,
    "an Anyscale connection (JSON) with its token",
  ],
  [
    /"password"\s*:\s*"[^"]+"[^{}]*"conn_type"\s*:\s*"anyscale"/,
    "an Anyscale connection (JSON) with its token",
  ],
  [/\banyscale:\/\/[^\s:@/]*:[^\s@/]+@/, "an Anyscale connection URI with its token"],
  [/\baph0_[A-Za-z0-9_-]{16,}/, "an Anyscale API token"],
];

const ANYSCALE_ENV = /^(AIRFLOW_CONN_ANYSCALE\w*|ANYSCALE_CLI_TOKEN|ANYSCALE_API_TOKEN)$/i;

/** Where in `value` an Anyscale connection/token appears in the clear. */
export function findAnyscaleSecrets(value: unknown, path = ""): string[] {
  const found: string[] = [];
  const visit = (v: unknown, p: string): void => {
    if (typeof v === "string") {
      for (const [re, why] of ANYSCALE_VALUE_PATTERNS) if (re.test(v)) found.push(`${p || "(root)"}: ${why}`);
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, `${p}[${i}]`));
      return;
    }
    if (v === null || typeof v !== "object") return;
    const obj = v as Record<string, unknown>;
    const name = obj["name"];
    const literal = obj["value"];
    if (
      typeof name === "string" &&
      ANYSCALE_ENV.test(name) &&
      typeof literal === "string" &&
      literal !== ""
    ) {
      found.push(`${p}.value: ${name} set to a literal`);
    }
    for (const [k, child] of Object.entries(obj)) {
      const childPath = p ? `${p}.${k}` : k;
      if (ANYSCALE_ENV.test(k) && typeof child === "string" && child !== "") {
        found.push(`${childPath}: ${k} set to a literal`);
      }
      visit(child, childPath);
    }
  };
  visit(value, path);
  return found;
}

/** Problems for one resource: any Anyscale secret outside the allowed holders. */
export function checkAnyscaleConnectionPlacement(resource: RuleResource): string[] {
  if (ANYSCALE_SECRET_HOLDERS.includes(resource.type)) return [];
  const found = findAnyscaleSecrets(resource.props);
  return found.length > 0
    ? [
        `Anyscale connection secret outside Secrets Manager / Kubernetes Secrets in ${resource.type} "${resource.name}": ${found.join("; ")}`,
      ]
    : [];
}
