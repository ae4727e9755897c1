// Client traffic for the operations tests: continuous requests, and a request kept in
// flight on purpose (its body sent in two parts).
import { request as httpRequest } from 'node:http';

export interface Outcome {
  at: number;
  status: number | null;
  error?: string;
  body?: unknown;
}

export interface Load {
  readonly outcomes: Outcome[];
  stop(): Promise<Outcome[]>;
}

/**
 * `loops` clients, each sending one request after the other (fetch: keep-alive connections,
 * as real clients and proxies use) until stopped. `send(loop, n)` makes one request.
 */
export function startLoad(loops: number, send: (loop: number, n: number) => Promise<Response>): Load {
  const outcomes: Outcome[] = [];
  let running = true;
  const clients = Array.from({ length: loops }, async (_, loop) => {
    for (let n = 0; running; n++) {
      const at = Date.now();
      try {
        const response = await send(loop, n);
        const text = await response.text();
        outcomes.push({ at, status: response.status, body: text ? JSON.parse(text) : null });
      } catch (error) {
        outcomes.push({ at, status: null, error: String((error as Error).cause ?? error) });
      }
    }
  });
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(clients);
      return outcomes;
    },
  };
}

export interface SlowRequest {
  /** Sends the rest of the body: the request is then complete. */
  finish(): void;
  readonly response: Promise<{ status: number; headers: Record<string, unknown>; body: string }>;
}

/** A JSON request whose body arrives in two parts, on its own connection: in flight until `finish()`. */
export function slowRequest(url: string, method: string, payload: unknown, headers: Record<string, string> = {}): SlowRequest {
  const body = Buffer.from(JSON.stringify(payload));
  const half = Math.floor(body.length / 2);
  const request = httpRequest(url, {
    method,
    agent: false,
    headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) },
  });
  const response = new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((done, fail) => {
    request.once('error', fail);
    request.once('response', (answer) => {
      let text = '';
      answer.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      answer.once('end', () => done({ status: answer.statusCode ?? 0, headers: answer.headers, body: text }));
      answer.once('error', fail);
    });
  });
  request.flushHeaders();
  request.write(body.subarray(0, half));
  return { finish: () => request.end(body.subarray(half)), response };
}

export function basicAuth(user: string, password = 'secret'): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
