/**
 * A local stand-in for Autograph's `POST /sign/data`: it checks the Hawk header on its
 * own (HMAC-SHA256 over the normalised request, payload hash included), then signs
 * `Content-Signature:\0` + input with a P-384 key as Autograph's content signer does.
 */
import { createHash, createHmac, generateKeyPairSync, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAutograph {
  url: string;
  publicKey: KeyObject;
  /** Requests received: key id and decoded input. */
  calls: { keyid: string; input: string }[];
  /** Make the next requests fail with this status. */
  failWith: number | null;
  close(): Promise<void>;
}

function parseHawk(header: string | undefined): Record<string, string> | null {
  if (!header?.startsWith('Hawk ')) return null;
  return Object.fromEntries([...header.slice(5).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

function hawkValid(request: IncomingMessage, body: string, credentials: { id: string; key: string }, port: number): boolean {
  const hawk = parseHawk(request.headers.authorization);
  if (!hawk || hawk.id !== credentials.id) return false;
  const contentType = String(request.headers['content-type']).split(';')[0].trim().toLowerCase();
  const hash = createHash('sha256').update(`hawk.1.payload\n${contentType}\n${body}\n`).digest('base64');
  if (hash !== hawk.hash) return false;
  const host = String(request.headers.host).split(':')[0];
  const normalized = `hawk.1.header\n${hawk.ts}\n${hawk.nonce}\n${request.method}\n${request.url}\n${host}\n${port}\n${hash}\n\n`;
  const mac = createHmac('sha256', credentials.key).update(normalized).digest();
  const sent = Buffer.from(hawk.mac, 'base64');
  return sent.length === mac.length && timingSafeEqual(sent, mac) && Math.abs(Number(hawk.ts) - Date.now() / 1000) < 60;
}

export async function startFakeAutograph(credentials: { id: string; key: string }): Promise<FakeAutograph> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const fake: FakeAutograph = { url: '', publicKey, calls: [], failWith: null, close: async () => {} };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const port = (server.address() as AddressInfo).port;
      if (request.method !== 'POST' || request.url !== '/sign/data') return response.writeHead(404).end();
      if (!hawkValid(request, body, credentials, port)) return response.writeHead(401).end('{"error":"hawk"}');
      if (fake.failWith) return response.writeHead(fake.failWith).end();
      const [{ input, keyid }] = JSON.parse(body) as { input: string; keyid: string }[];
      const data = Buffer.from(input, 'base64');
      fake.calls.push({ keyid, input: data.toString('utf8') });
      const signature = sign('sha384', Buffer.concat([Buffer.from('Content-Signature:\x00'), data]), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const bundle = {
        ref: `ref-${fake.calls.length}`,
        type: 'contentsignature',
        mode: 'p384ecdsa',
        signature: signature.toString('base64url'),
        public_key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
        signer_id: keyid,
        x5u: `${fake.url}/chains/${keyid}.pem`,
      };
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify([bundle]));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((done) => server.close(() => done()));
  return fake;
}
