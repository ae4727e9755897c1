import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolvePlugins } from '../../../core/plugins.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { BASE_INI } from '../../../test/helpers/app.ts';
import { iniLines } from '../../changes/test/helpers.ts';
import { SEND_EMAIL_COMMAND, TEST_BODY, TEST_SUBJECT } from '../cli.ts';
import { emailerMetadata, emailerWorld, smtpSettings, startError } from './helpers.ts';
import { TestSmtpServer } from './smtp.ts';

const smtp = new TestSmtpServer();
let scratch: string;
beforeAll(async () => {
  await smtp.start();
  scratch = mkdtempSync(join(tmpdir(), 'emailer-'));
});
afterAll(async () => {
  await smtp.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the emailer plugin', () => {
  it('advertises its capability', async () => {
    const world = await emailerWorld(smtpSettings(smtp.port));
    const hello = (await world.alice.get('/')).json();
    expect(hello.capabilities.emailer).toEqual({
      description: 'Provide emailing capabilities to the server.',
      url: 'https://github.com/Kinto/kinto-emailer/',
      version: '4.0.0',
    });
    await world.app.close();
  });

  it('refuses invalid mail settings at start-up', async () => {
    expect(await startError(smtpSettings(smtp.port, { 'mail.port': 'twenty-five' }))).toMatch(/mail\.port/);
    expect(await startError(smtpSettings(smtp.port, { 'mail.tls': 'maybe' }))).toMatch(/mail\.tls/);
    expect(await startError(smtpSettings(smtp.port, { 'mail.debug_mailer': 'sure' }))).toMatch(/mail\.debug_mailer/);
    expect(await startError(smtpSettings(smtp.port, { 'mail.keyfile': join(scratch, 'absent.pem') }))).toMatch(
      /^Plugin 'emailer': mail\.keyfile: cannot read '.*absent\.pem'/,
    );
  });

  it('warns that the Maildir queue is not supported, and sends directly', async () => {
    const world = await emailerWorld(smtpSettings(smtp.port, { 'mail.queue_path': join(scratch, 'queue') }));
    expect(world.logs.some((line) => line.level === 40 && line.msg === 'mail.queue_path is not supported: notifications are sent directly.')).toBe(true);
    await world.alice.put('/buckets/b', { data: emailerMetadata({ template: 'queued?', recipients: ['a@example.com'] }) });
    await world.alice.put('/buckets/b/collections/c', { data: {} });
    expect((await smtp.waitFor(1))[0].body).toBe('queued?');
    smtp.clear();
    await world.app.close();
  });
});

describe('mail.debug_mailer', () => {
  it('writes each message to an .eml file instead of sending it', async () => {
    const folder = join(scratch, 'mail');
    const world = await emailerWorld(smtpSettings(smtp.port, { 'mail.debug_mailer': 'true', 'mail.top_level_directory': folder }));
    expect(readdirSync(folder)).toEqual([]);
    await world.alice.put('/buckets/b', { data: emailerMetadata({ subject: 'Action on {root_url}', template: 'Created {bucket_id}/{collection_id}', recipients: ['kinto-emailer@restmail.net'] }) });
    await world.alice.put('/buckets/b/collections/c', { data: {} });
    await world.settled();
    const files = readdirSync(folder);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{14}_[0-9a-z]{4}\.eml$/);
    const content = readFileSync(join(folder, files[0]), 'utf8');
    expect(content).toContain('To: kinto-emailer@restmail.net');
    expect(content).toContain('From: nobody');
    expect(content).toContain('Subject: Action on http://localhost/v1/');
    expect(content).toContain('Created b/c');
    expect(smtp.received).toEqual([]);
    await world.app.close();
  });
});

describe('kinto send-email', () => {
  async function run(argv: string[], settings: Record<string, string>) {
    const loaded = loadConfig({ iniText: `${BASE_INI}${iniLines(settings)}`, env: {} });
    const plan = await resolvePlugins(loaded);
    const output: string[] = [];
    const write = (chunk: string | Uint8Array) => output.push(String(chunk)) > 0;
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(write);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(write);
    try {
      const code = await SEND_EMAIL_COMMAND.run(argv, { config: { ...loaded, settings: plan.settings }, openBackends: () => Promise.reject(new Error('unused')) });
      return { code, output: output.join('') };
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  }

  it('sends a test message with the configured sender', async () => {
    const { code, output } = await run(['admin@example.com'], smtpSettings(smtp.port));
    expect(code).toBe(0);
    expect(output).toBe("Send email to 'admin@example.com'\nDone.\n");
    const [mail] = await smtp.waitFor(1);
    expect(mail).toMatchObject({ mailFrom: 'kinto@example.com', rcptTo: ['admin@example.com'], body: TEST_BODY });
    expect(mail.headers.subject).toBe(TEST_SUBJECT);
    smtp.clear();
  });

  it('exits with 1 on a usage or sending error', async () => {
    expect((await run([], smtpSettings(smtp.port))).code).toBe(1);
    const failed = await run(['a@example.com'], smtpSettings(smtp.port, { 'mail.default_sender': '' }));
    expect(failed).toEqual({ code: 1, output: "Send email to 'a@example.com'\nCould not send the email: No sender address has been set\n" });
  });
});
