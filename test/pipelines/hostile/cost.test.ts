/**
 * Issue 14, cost: 2,000 tasks reading one upstream XCom took 23 s to validate (a 2,000-task chain 2.9 s): each
 * reference rebuilt the task graph's adjacency by copying arrays, and the topological order scanned every task per
 * step. Want: validation of large definitions well within a budget the quadratic version missed by an order of
 * magnitude, and the rewritten graph helpers answering exactly like the straightforward versions.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { descendants, Reachability, topoOrder, type Edge } from "../../../pipelines/src/graph/tasks.js";
import { parsePipeline } from "../../../pipelines/src/model/index.js";
import { scalePipeline } from "../fixtures/scale.js";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- builds untyped shapes on purpose */

describe("validation cost", () => {
  // Budgets are ~15x what the linear version needs on a busy 2-core machine; the quadratic one needed ~26 s for
  // the 10,000 chain and minutes for the fan-outs.
  it.each([
    { shape: "fan" as const, n: 4000, budgetMs: 5000 },
    { shape: "chain" as const, n: 10000, budgetMs: 8000 },
    { shape: "group" as const, n: 4000, budgetMs: 5000 },
  ])("$n tasks, $shape, validate within $budgetMs ms", { timeout: 120_000 }, ({ shape, n, budgetMs }) => {
    const input = scalePipeline(n, shape);
    const started = performance.now();
    parsePipeline(input, "defs/scale.ts");
    expect(performance.now() - started).toBeLessThan(budgetMs);
  });
});

/** The quadratic reference: Kahn's algorithm scanning for the first ready task in definition order. */
function topoReference(ids: readonly string[], edges: readonly Edge[]): string[] {
  const indeg = new Map(ids.map((id) => [id, 0]));
  for (const [, b] of edges) indeg.set(b, (indeg.get(b) ?? 0) + 1);
  const out: string[] = [];
  const done = new Set<string>();
  for (;;) {
    const next = ids.find((id) => !done.has(id) && indeg.get(id) === 0);
    if (next === undefined) return out;
    done.add(next);
    out.push(next);
    for (const [a, b] of edges) if (a === next) indeg.set(b, (indeg.get(b) ?? 0) - 1);
  }
}

const SEED = Number(process.env.GRAPH_PROPERTY_SEED ?? Date.now() % 2 ** 31);

describe(`graph helpers agree with the straightforward versions (seed ${SEED})`, () => {
  // Random DAGs (edges only from lower to higher index, then ids shuffled) and random graphs with cycles.
  const graph = fc
    .record({
      n: fc.integer({ min: 1, max: 25 }),
      pairs: fc.array(fc.tuple(fc.nat(24), fc.nat(24)), { maxLength: 60 }),
      acyclic: fc.boolean(),
      perm: fc.array(fc.nat(), { minLength: 25, maxLength: 25 }),
    })
    .map(({ n, pairs, acyclic, perm }) => {
      const ids = Array.from({ length: n }, (_, i) => `n${i}`).sort(
        (a, b) => perm[+a.slice(1)]! - perm[+b.slice(1)]!,
      );
      const edges = pairs
        .map(([a, b]) => [a % n, b % n] as const)
        .filter(([a, b]) => a !== b && (!acyclic || a < b))
        .map(([a, b]) => [`n${a}`, `n${b}`] as const);
      return { ids, edges: [...new Map(edges.map((e) => [e.join(">"), e])).values()] as Edge[] };
    });

  it("topoOrder", () => {
    fc.assert(
      fc.property(graph, ({ ids, edges }) => {
        const flat = { tasks: ids.map((id) => ({ fullId: id })), groups: [] } as any;
        expect(topoOrder(flat, edges)).toEqual(topoReference(ids, edges));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("Reachability.reaches", () => {
    fc.assert(
      fc.property(graph, ({ ids, edges }) => {
        const reach = new Reachability(edges);
        for (const a of ids) {
          const want = descendants(a, edges);
          for (const b of ids) expect(reach.reaches(a, b)).toBe(want.has(b));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
