// Detectors for secret material in plain (non-secret) configuration: Helm values, MWAA configuration
// options, ConfigMaps. Shared by the policy pack and by the Kubernetes component's own argument checks.
// They are deliberately conservative heuristics: a finding names the path and the reason, never the value.

/** One suspicious value: where it is and why it looks secret (the value itself is never echoed). */
export interface SecretFinding {
  readonly path: string;
  readonly reason: string;
}

/** Value shapes that are secrets wherever they appear. */
const VALUE_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:[^\s@/]+@/i, "a URI with an embedded password"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a PEM private key"],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, "a Slack token"],
  [/hooks\.slack\.com\/services\/T[A-Za-z0-9]+\/B[A-Za-z0-9]+\/[A-Za-z0-9]+/, "a Slack webhook URL"],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/, "a GitHub token"],
  [/\baph0_[A-Za-z0-9_-]{16,}/, "an Anyscale API token"],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/, "a JWT"],
  [/"conn_type"\s*:\s*"[^"]*"[^{}]*"password"\s*:\s*"[^"]+"/, "an Airflow connection with a password"],
  [/"password"\s*:\s*"[^"]+"[^{}]*"conn_type"\s*:/, "an Airflow connection with a password"],
];

/** Normalised key names (lower-case, alphanumerics only) whose literal string value is a secret. */
const SECRET_KEYS = new Set([
  "pass",
  "password",
  "passwd",
  "secret",
  "token",
  "apikey",
  "apitoken",
  "apisecretkey",
  "jwtsecret",
  "fernetkey",
  "webserversecretkey",
  "privatekey",
  "sshkey",
  "accesskey",
  "secretaccesskey",
  "clientsecret",
  "authtoken",
  "clitoken",
  "webhookurl",
  "webhooktoken",
  "keytabbase64content",
  "brokerurl",
  "sqlalchemyconn",
]);

/**
 * Whether a key (or environment variable name) names a secret. References to secrets — `secretName`,
 * `existingSecret`, the chart's `secretKey` (the key *inside* a Secret) — are not secrets themselves.
 * Dotted/sectioned keys (`core.fernet_key`, `AIRFLOW__CORE__FERNET_KEY`) are judged by their last part.
 */
export function isSecretKeyName(key: string): boolean {
  if (key === "secretKey") return false;
  if (/^AIRFLOW_CONN_/i.test(key)) return true;
  const last = key.split(/\.|__/).pop() ?? key;
  const n = last.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (n.endsWith("secretname") || n.endsWith("existingsecret") || n.endsWith("secretref")) return false;
  if (n.endsWith("secretkeyref") || n.endsWith("secretkeys") || n.endsWith("passwordfile")) return false;
  return (
    SECRET_KEYS.has(n) ||
    n.endsWith("password") ||
    n.endsWith("token") ||
    n.endsWith("apikey") ||
    n.endsWith("secretkey") ||
    n.endsWith("privatekey")
  );
}

/** Reasons a single string looks like secret material (empty when it does not). */
export function secretValueReasons(value: string): string[] {
  return VALUE_PATTERNS.filter(([re]) => re.test(value)).map(([, reason]) => reason);
}

/**
 * Walk any JSON-like value and report secret-looking material: secret-shaped strings anywhere, literal
 * strings under secret-named keys, and `{name, value}` env entries whose name is secret-named.
 */
export function findSecretLikeValues(value: unknown, path = ""): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const visit = (v: unknown, p: string): void => {
    if (typeof v === "string") {
      for (const reason of secretValueReasons(v)) findings.push({ path: p || "(root)", reason });
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, `${p}[${i}]`));
      return;
    }
    if (v === null || typeof v !== "object") return;
    const obj = v as Record<string, unknown>;
    const envName = obj["name"];
    const envValue = obj["value"];
    if (typeof envName === "string" && typeof envValue === "string" && envValue !== "") {
      if (isSecretKeyName(envName)) {
        findings.push({ path: `${p}.value`, reason: `env var ${envName} has a literal value` });
      }
    }
    for (const [k, child] of Object.entries(obj)) {
      const childPath = p ? `${p}.${k}` : k;
      if (typeof child === "string" && child !== "" && isSecretKeyName(k)) {
        findings.push({ path: childPath, reason: `key "${k}" holds a literal value` });
      }
      visit(child, childPath);
    }
  };
  visit(value, path);
  return findings;
}

/** One-line summary of findings for error messages. */
export function describeFindings(findings: readonly SecretFinding[]): string {
  return findings.map((f) => `${f.path}: ${f.reason}`).join("; ");
}
