/**
 * kinto-slack through HTTP. Slack itself cannot run here: a small fastify app stands in
 * for its incoming webhooks (it records the JSON posted, and can fail), which is all the
 * plugin talks to.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { basic, client, makeApp } from '../../../test/helpers/app.ts';
import { makeSignerFixtures, type SignerFixtures } from '../../signer/test/fixtures.ts';
import { expectStatus, iniLines, localSignerSettings, signerWorld } from '../../signer/test/helpers.ts';
import { slackSettled } from '../index.ts';

interface Received {
  path: string;
  body: { channel: string | null; text: string };
}

let webhooks: FastifyInstance;
let base: string;
const received: Received[] = [];
let failing = false;

beforeAll(async () => {
  webhooks = Fastify();
  webhooks.post('/hooks/:name', async (request, reply) => {
    if (failing) return reply.code(500).send('no');
    received.push({ path: request.url, body: request.body as Received['body'] });
    return 'ok';
  });
  await webhooks.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(webhooks.server.address() as { port: number }).port}/hooks`;
});
afterAll(async () => {
  await webhooks.close();
});
afterEach(() => {
  received.length = 0;
  failing = false;
});

const ALICE = basic('alice');

async function slackApp(extra: Record<string, string> = {}) {
  return makeApp(iniLines({ 'kinto.includes': 'kinto_slack', 'kinto.slack.webhook_url': `${base}/default`, ...extra }));
}

const hooks = (...list: Record<string, unknown>[]) => ({ 'kinto-slack': { hooks: list } });

describe('slack: notifications', () => {
  it('posts the formatted template after a record change, to the default webhook or the hook’s channel', async () => {
    const app = await slackApp({ 'kinto.slack.alerts.webhook_url': `${base}/alerts` });
    const alice = client(app, ALICE);
    await alice.put('/buckets/b', {});
    await alice.put('/buckets/b/collections/c', {
      data: hooks(
        { template: '{user_id} {action}d {resource_name} {id} in {bucket_id}/{collection_id}{missing}.', action: 'create', resource_name: 'record' },
        { template: 'deleted {record_id}', action: 'delete', resource_name: 'record', channel: '#alerts' },
      ),
    });
    const userId = (await alice.get('/')).json().user.id;
    await alice.put('/buckets/b/collections/c/records/r1', { data: { title: 'x' } });
    await alice.delete('/buckets/b/collections/c/records/r1');
    await slackSettled(app.kinto);
    expect(received).toEqual([
      { path: '/hooks/default', body: { channel: null, text: `${userId} created record r1 in b/c.` } },
      { path: '/hooks/alerts', body: { channel: '#alerts', text: 'deleted r1' } },
    ]);
    await app.close();
  });

  it('falls back to the bucket’s hooks, filters with ^regexes, and sends nothing for a rolled back batch', async () => {
    const app = await slackApp();
    const alice = client(app, ALICE);
    await alice.put('/buckets/b', { data: hooks({ template: 'bucket hook: {collection_id}', collection_id: '^exp-' }) });
    await alice.put('/buckets/b/collections/exp-1', {});
    await alice.put('/buckets/b/collections/other', {});
    await slackSettled(app.kinto);
    expect(received.map((r) => r.body.text)).toEqual(['bucket hook: exp-1']);
    received.length = 0;
    // The second subrequest fails: the batch is rolled back, its messages dropped.
    await alice.post('/batch', {
      requests: [
        { method: 'PUT', path: '/buckets/b/collections/exp-2' },
        { method: 'PUT', path: '/buckets/b/collections/exp-3', body: { data: { 'kinto-slack': { hooks: [{}] } } } },
      ],
    });
    await slackSettled(app.kinto);
    expect(received).toEqual([]);
    await app.close();
  });

  it('refuses hooks without a template (400) and keeps the write when Slack fails', async () => {
    const app = await slackApp();
    const alice = client(app, ALICE);
    await alice.put('/buckets/b', {});
    const refused = await alice.put('/buckets/b/collections/c', { data: { 'kinto-slack': { hooks: [{ channel: '#x' }] } } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ errno: 107, message: "kinto-slack in body: Hook is missing 'template'" });
    await alice.put('/buckets/b/collections/c', { data: hooks({ template: 'hello' }) });
    failing = true;
    const write = await alice.put('/buckets/b/collections/c/records/r', {});
    expect(write.statusCode).toBe(201);
    await slackSettled(app.kinto);
    expect(received).toEqual([]);
    await app.close();
  });

  it('writes each message to slack.debug_dir, and routes a channel from the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slack-debug-'));
    process.env.KINTO_SLACK_TEAM_ALERTS_WEBHOOK_URL = `${base}/team`;
    try {
      const app = await slackApp({ 'kinto.slack.debug_dir': dir });
      const alice = client(app, ALICE);
      await alice.put('/buckets/b', {});
      await alice.put('/buckets/b/collections/c', { data: hooks({ template: 'to the team', channel: '#team-alerts', resource_name: 'record' }) });
      await alice.put('/buckets/b/collections/c/records/r', {});
      await slackSettled(app.kinto);
      expect(received).toEqual([{ path: '/hooks/team', body: { channel: '#team-alerts', text: 'to the team' } }]);
      const [file] = readdirSync(dir);
      expect(JSON.parse(readFileSync(join(dir, file), 'utf8'))).toEqual({ channel: '#team-alerts', text: 'to the team' });
      expect((await client(app).get('/')).json().capabilities.slack).toMatchObject({ description: 'Slack notifications plugin for Kinto' });
      await app.close();
    } finally {
      delete process.env.KINTO_SLACK_TEAM_ALERTS_WEBHOOK_URL;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('slack: review events of the signer', () => {
  let fixtures: SignerFixtures;
  beforeAll(() => {
    fixtures = makeSignerFixtures();
  });
  afterAll(() => fixtures.remove());

  it('posts on review requests, with the event filter', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), {
      'kinto.includes': 'kinto_slack kinto_remote_settings',
      'kinto.slack.webhook_url': `${base}/default`,
      'kinto.signer.resources': '/buckets/main-workspace/collections/cid -> /buckets/main/collections/cid',
      'kinto.signer.to_review_enabled': 'true',
    });
    const editor = await world.actor('editor');
    await expectStatus(editor.client.put('/buckets/main-workspace', {
      data: hooks({ event: 'kinto_remote_settings.signer.events.ReviewRequested', template: '{user_id} asks a review of {collection_id}' }),
    }), 201);
    await expectStatus(editor.client.put('/buckets/main-workspace/collections/cid', {}), 201);
    await editor.client.post('/buckets/main-workspace/collections/cid/records', { data: { x: 1 } });
    await slackSettled(world.app.kinto);
    expect(received).toEqual([]);
    await expectStatus(editor.client.patch('/buckets/main-workspace/collections/cid', { data: { status: 'to-review' } }), 200);
    await slackSettled(world.app.kinto);
    expect(received.map((r) => r.body.text)).toEqual([`${editor.id} asks a review of cid`]);
    await world.app.close();
  });
});
