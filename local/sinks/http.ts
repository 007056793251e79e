// Small node:http helpers shared by the Slack and Zendesk sinks: loopback listening, bodies, JSON answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RunningSink {
  /** Base URL on 127.0.0.1, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

/** Parses a JSON admin body; answers 400 naming the problem and returns undefined when it is not JSON. */
export function jsonBody(res: ServerResponse, body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8") || "null") as unknown;
  } catch (e) {
    sendJson(res, 400, { error: `request body is not JSON: ${(e as Error).message}` });
    return undefined;
  }
}

/** Serves `handler` on 127.0.0.1 (never another interface); port 0 picks a free port. */
export async function listenOnLoopback(port: number, handler: RequestHandler): Promise<RunningSink> {
  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        try {
          handler(req, res, body);
        } catch (e) {
          sendJson(res, 500, { error: e instanceof Error ? e.message : String(e) });
        }
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
