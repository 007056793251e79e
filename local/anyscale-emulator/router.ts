// A service's query endpoint (its `base_url`, which the SDK reports as `query_url`): one loopback HTTP server per
// service that plays the Anyscale load balancer in front of the versions' local servers.
// - Query auth: when the service has a token, `Authorization: Bearer <token>` is required (401 otherwise).
// - Explicit routing: `X-Anyscale-Version: canary` (what llm_workloads.openai_client sends for --canary) goes to the
//   canary version, `primary` to the primary, any other value to the version of that name; 404 when there is none.
// - Otherwise traffic is split by the versions' weights with smooth weighted round-robin (deterministic).
// Every answer carries `x-emulator-served-by: <version name>` so tests can see who answered.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RouteTarget {
  readonly name: string;
  readonly role: "primary" | "canary";
  readonly weight: number;
  /** Loopback port of a healthy server; undefined while starting or when unhealthy. */
  readonly port: number | undefined;
}

export interface RoutingTable {
  readonly token: string | null;
  readonly terminated: boolean;
  readonly targets: readonly RouteTarget[];
}

export const VERSION_HEADER = "x-anyscale-version";

function sendJson(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { message, code: status } });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export class ServiceRouter {
  readonly #server = createServer((req, res) => this.#handle(req, res));
  readonly #current = new Map<string, number>();
  #port = 0;

  constructor(private readonly table: () => RoutingTable) {}

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Smooth weighted round-robin over the targets with weight > 0. */
  #pick(targets: readonly RouteTarget[]): RouteTarget | undefined {
    const live = targets.filter((t) => t.weight > 0);
    if (live.length === 0) return targets.find((t) => t.role === "primary");
    const total = live.reduce((s, t) => s + t.weight, 0);
    let best: RouteTarget | undefined;
    for (const t of live) {
      const cur = (this.#current.get(t.name) ?? 0) + t.weight;
      this.#current.set(t.name, cur);
      if (!best || cur > (this.#current.get(best.name) ?? 0)) best = t;
    }
    this.#current.set(best!.name, (this.#current.get(best!.name) ?? 0) - total);
    return best;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    let table: RoutingTable;
    try {
      table = this.table();
    } catch {
      return sendJson(res, 503, "the service is not ready");
    }
    if (table.terminated) return sendJson(res, 503, "the service is terminated");
    if (table.token !== null && req.headers.authorization !== `Bearer ${table.token}`) {
      return sendJson(res, 401, "missing or wrong bearer token for this service");
    }
    const wanted = req.headers[VERSION_HEADER];
    const asked = Array.isArray(wanted) ? wanted[0] : wanted;
    let target: RouteTarget | undefined;
    if (asked) {
      const key = asked.trim();
      target = table.targets.find((t) => t.role === key.toLowerCase() || t.name === key);
      if (!target) return sendJson(res, 404, `no version '${key}' in this service`);
    } else {
      target = this.#pick(table.targets);
    }
    if (!target || target.port === undefined) {
      return sendJson(res, 503, `version '${target?.name ?? "?"}' is not ready to serve`);
    }
    const upstream = httpRequest(
      {
        host: "127.0.0.1",
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: `127.0.0.1:${target.port}` },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, { ...up.headers, "x-emulator-served-by": target.name });
        up.pipe(res);
      },
    );
    upstream.once("error", (e) => {
      if (!res.headersSent) sendJson(res, 502, `version '${target.name}' did not answer: ${e.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}
