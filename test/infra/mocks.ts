// Pulumi mocks for the component tests: the same mocks `npm run plan` uses (infra/plan/mocks.ts), with a
// recorder view (by type, exactly one) for assertions.
import type * as pulumi from "@pulumi/pulumi";

import { installRecordingMocks, type MockRecord, type PlannedResource } from "../../infra/plan/mocks.js";

export { isSecretWrapper, mapSecrets, redacted, revealed } from "../../infra/plan/format.js";
export { MOCK_ACCOUNT_ID, MOCK_REGION, MOCK_ZONES, mockVersionId, settle } from "../../infra/plan/mocks.js";

/** A registered resource as the tests see it. */
export type Recorded = PlannedResource;

export interface Recorder extends MockRecord {
  byType(type: string): Recorded[];
  one(type: string, nameSuffix?: string): Recorded;
}

export async function installMocks(stack: string): Promise<Recorder> {
  const record = await installRecordingMocks("llm-platform", stack);
  const { created } = record;
  return {
    ...record,
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
