// TEMPORARY skeleton (replaced in the next commit): lifecycle functions behind AnyscaleComputeConfig.
import type * as pulumi from "@pulumi/pulumi";
import type { ComputeConfigState } from "./computeConfigResource.js";

export type LifecycleClient = unknown;
const todo = (): never => {
  throw new Error("AnyscaleComputeConfig lifecycle is not implemented yet");
};
export function clientFromEnv(_host?: string): LifecycleClient {
  return todo();
}
export function checkComputeConfig(_olds: unknown, news: unknown): pulumi.dynamic.CheckResult {
  return { inputs: news };
}
export function diffComputeConfig(_o: ComputeConfigState, _n: ComputeConfigState): pulumi.dynamic.DiffResult {
  return todo();
}
export function createComputeConfig(
  _c: LifecycleClient,
  _i: ComputeConfigState,
): Promise<pulumi.dynamic.CreateResult> {
  return todo();
}
export function updateComputeConfig(
  _c: LifecycleClient,
  _o: ComputeConfigState,
  _n: ComputeConfigState,
): Promise<pulumi.dynamic.UpdateResult> {
  return todo();
}
export function deleteComputeConfig(_c: LifecycleClient, _id: string, _p: ComputeConfigState): Promise<void> {
  return todo();
}
export function readComputeConfig(
  _c: LifecycleClient,
  _id: string,
  _p: ComputeConfigState,
): Promise<pulumi.dynamic.ReadResult> {
  return todo();
}
