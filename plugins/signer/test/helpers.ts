import type { FastifyInstance } from 'fastify';
import { basic, client, makeApp, type Client } from '../../../test/helpers/app.ts';
import { iniLines } from '../../changes/test/helpers.ts';
import type { SignerFixtures } from './fixtures.ts';

export { iniLines };

export interface Actor {
  client: Client;
  id: string;
  headers: Record<string, string>;
}

export interface SignerWorld {
  app: FastifyInstance;
  anonymous: Client;
  actor(name: string): Promise<Actor>;
}

/** The settings of a local ECDSA signer with its served chain. */
export function localSignerSettings(fixtures: SignerFixtures): Record<string, string> {
  return {
    'kinto.includes': 'kinto_remote_settings',
    'kinto.http_host': 'settings.example.org',
    'kinto.signer.ecdsa.private_key': fixtures.privateKey,
    'kinto.signer.ecdsa.certificate_chain': fixtures.chain,
  };
}

export async function signerWorld(...settings: Record<string, string>[]): Promise<SignerWorld> {
  const app = await makeApp(iniLines(...settings));
  return {
    app,
    anonymous: client(app),
    async actor(name: string) {
      const headers = basic(name);
      const actorClient = client(app, headers);
      const id = (await actorClient.get('/')).json().user.id as string;
      return { client: actorClient, id, headers };
    },
  };
}

/** Fails the test with the server's answer when a request does not get the expected status. */
export async function expectStatus<T extends { statusCode: number; body: string }>(pending: Promise<T>, status: number): Promise<T> {
  const response = await pending;
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`);
  return response;
}
