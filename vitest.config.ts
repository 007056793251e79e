import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Pulumi mocks and the Airflow/anyscale subprocess checks are slow to start on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
