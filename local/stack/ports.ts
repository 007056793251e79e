// Loopback ports and readiness probes.
import { createServer } from "node:net";

/** A port that is free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing accepts connections on 127.0.0.1:port. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PollOptions {
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Checked between attempts: a process that died makes waiting pointless. */
  alive?: () => string | undefined;
}

/** Calls `probe` until it returns a value (not undefined); throws naming `what` on timeout. */
export async function poll<T>(probe: () => Promise<T | undefined>, opts: PollOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "";
  for (;;) {
    const dead = opts.alive?.();
    if (dead) throw new Error(`${opts.what}: ${dead}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      throw new Error(`${opts.what}: not ready after ${opts.timeoutMs / 1000} s${last ? ` (${last})` : ""}`);
    }
    await sleep(opts.intervalMs ?? 200);
  }
}

/** Resolves once an HTTP GET of `url` answers at all (any status). */
export async function waitForHttp(url: string, opts: PollOptions): Promise<void> {
  await poll(async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return true;
  }, opts);
}
