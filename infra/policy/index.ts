// Policy pack entrypoint for `pulumi preview --policy-pack infra/policy`. Constructing the pack starts
// the analyzer server, so tests import ./policies.js and ./rules/*, never this file.
import { PolicyPack } from "@pulumi/policy";

import { policies } from "./policies.js";

new PolicyPack("llm-platform-guardrails", { policies });
