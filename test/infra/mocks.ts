// Pulumi mocks shared by the component tests: record every registered resource and return plausible
// provider-computed outputs (random results, Secret resourceVersion, Helm release status).
import * as pulumi from "@pulumi/pulumi";

/** Pulumi's wire marker for a secret value inside mock inputs. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretWrapper(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replace every secret by `replacement(value)`, recursively. */
export function mapSecrets(v: unknown, replacement: (secretValue: unknown) => unknown): unknown {
  if (isSecretWrapper(v)) return replacement(v.value);
  if (Array.isArray(v)) return v.map((x) => mapSecrets(x, replacement));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapSecrets(x, replacement)]));
  }
  return v;
}

/** Inputs as the engine would store them in plain text: secrets redacted. */
export const redacted = (v: unknown): unknown => mapSecrets(v, () => "[secret]");
/** Inputs with secrets revealed (what only the encrypted state holds). */
export const revealed = (v: unknown): unknown => mapSecrets(v, (x) => x);

/** A registered resource as the tests see it (MockResourceArgs with typed inputs). */
export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

export interface Recorder {
  readonly created: Recorded[];
  byType(type: string): Recorded[];
  one(type: string, nameSuffix?: string): Recorded;
}

export async function installMocks(stack: string): Promise<Recorder> {
  const created: Recorded[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const inputs = args.inputs as Record<string, unknown>;
        created.push({ type: args.type, name: args.name, inputs });
        const state: Record<string, unknown> = { ...inputs };
        switch (args.type) {
          case "random:index/randomPassword:RandomPassword":
            state["result"] = `generated-${args.name}`;
            break;
          case "random:index/randomBytes:RandomBytes":
            state["base64"] = "q+/r7w==AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
            break;
          case "kubernetes:core/v1:Secret":
            state["metadata"] = { ...(inputs["metadata"] as object), resourceVersion: "rv-1" };
            break;
          case "kubernetes:helm.sh/v3:Release":
            state["status"] = { status: "deployed" };
            break;
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs as Record<string, unknown>,
    },
    "llm-platform",
    stack,
  );
  return {
    created,
    byType: (type) => created.filter((r) => r.type === type),
    one(type, nameSuffix) {
      const matches = created.filter(
        (r) => r.type === type && (nameSuffix === undefined || r.name.endsWith(nameSuffix)),
      );
      if (matches.length !== 1)
        throw new Error(`expected one ${type} ${nameSuffix ?? ""}, found ${matches.length}`);
      return matches[0]!;
    },
  };
}

/** Await an Output (Output.promise() is internal). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}
