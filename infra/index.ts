// Pulumi entrypoint (filled in by the infrastructure work): reads stack config once and declares the stack.
import * as pulumi from "@pulumi/pulumi";

export const stack = pulumi.getStack();
