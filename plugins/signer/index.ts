import type { FastifyInstance } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import { definePlugin } from '../../core/plugin.ts';
import { currentUnitOfWork } from '../../core/unit-of-work.ts';
import { AutographSigner } from './backends/autograph.ts';
import { CERT_CHAINS_PATH, loadSigner } from './backends/index.ts';
import type { SignerBackend } from './backends/types.ts';
import { EDITORS_GROUP, REVIEWERS_GROUP } from './checks.ts';
import { DEFAULT_RESOURCES, SignerSettings, prefixesOf } from './config.ts';
import { reviewEventsOf } from './events.ts';
import { KEYPAIR_COMMAND } from './keypair.ts';
import { autoCreateResources, expandExistingCollections } from './startup.ts';
import { SignedResources } from './resources.ts';
import { PLUGIN_USERID } from './updater.ts';
import { handleEvents, type SignerState } from './workflow.ts';

export { reviewEventsOf } from './events.ts';
export { KEYPAIR_COMMAND } from './keypair.ts';
export type { ReviewEvent, ReviewEventType } from './events.ts';

const DOCS = 'https://github.com/mozilla/remote-settings/tree/main/kinto-remote-settings';
const registered = new WeakSet<KintoCore>();

/** Where clients reach this server, for the `x5u` of served certificate chains. */
function publicOrigin(core: KintoCore): string {
  const host = core.settings.str('http_host', '');
  const scheme = core.settings.str('http_scheme', '') || (host ? 'https' : 'http');
  return `${scheme}://${host || `localhost:${core.config.server.port}`}`;
}

function buildSigners(core: KintoCore, settings: SignerSettings, resources: SignedResources, chains: Map<string, string>) {
  const signers = new Map<string, SignerBackend>();
  const context = { settings, origin: publicOrigin(core), chains };
  for (const [key, resource] of resources.all) {
    if (!resource.source.collection?.includes('(')) signers.set(key, loadSigner(context, prefixesOf(resource)));
  }
  return signers;
}

function registerCertificateChains(app: FastifyInstance, chains: Map<string, string>): void {
  if (chains.size === 0) return;
  app.get(`${CERT_CHAINS_PATH}:name`, async (request, reply) => {
    const pem = chains.get((request.params as { name: string }).name);
    if (pem === undefined) return reply.callNotFound();
    return reply.type('application/x-pem-file').header('Cache-Control', 'max-age=604800').send(pem);
  });
}

/** Every signer signs a test text; Autograph's TLS certificate is checked for expiry (a warning). */
async function heartbeat(app: FastifyInstance, settings: SignerSettings, signers: Map<string, SignerBackend>): Promise<boolean> {
  const number = (name: string, fallback: number) => Number(settings.global(name, String(fallback)));
  const check = {
    percentageRemainingValidity: number('heartbeat_certificate_percentage_remaining_validity', 5),
    minRemainingDays: number('heartbeat_certificate_min_remaining_days', 10),
    maxRemainingDays: number('heartbeat_certificate_max_remaining_days', 30),
    warn: (message: string) => app.log.warn(message),
  };
  try {
    for (const signer of signers.values()) {
      await signer.sign('This is a heartbeat test.');
      if (signer instanceof AutographSigner) await signer.checkCertificate(check);
    }
    return true;
  } catch (error) {
    app.log.error({ err: error }, 'signer heartbeat failed');
    return false;
  }
}

/** The workflow runs in each write's transaction; approvals are counted in the metrics. */
function subscribeWorkflow(core: KintoCore, state: SignerState): void {
  core.events.subscribe({
    phase: 'transaction',
    resources: ['record', 'collection'],
    async handle(events, scope) {
      const started = performance.now();
      await handleEvents(state, events, scope, currentUnitOfWork()?.events ?? []);
      core.metrics.timer('plugins.signer.seconds', (performance.now() - started) / 1000);
    },
  });
  state.reviewEvents.subscribe((event) => {
    const { bucket, collection } = event.resource.destination;
    const unique = [['bucket_id', bucket], ['collection_id', collection]] as const;
    core.metrics.count('plugins.signer.approved_changes', { count: Number(event.payload.changes_count ?? 0), unique });
  }, ['ReviewApproved']);
}

/**
 * Regex settings apply to new collections: once a creation is committed (never for one
 * rolled back), the collection joins the resource list and the capability lists it.
 */
function subscribeRegexExpansion(core: KintoCore, resources: SignedResources, listed: Record<string, unknown>[]): void {
  core.events.subscribe({
    phase: 'commit',
    resources: ['collection'],
    actions: ['create'],
    async handle(events) {
      let expanded = false;
      for (const event of events) {
        for (const { new: created } of event.impacted) {
          if (created && resources.expandGlob(String(event.payload.bucket_id), String(created.id))) expanded = true;
        }
      }
      if (expanded) listed.splice(0, listed.length, ...resources.exposed());
    },
  });
}

export async function registerSigner(app: FastifyInstance, core: KintoCore): Promise<void> {
  if (registered.has(core)) return;
  registered.add(core);
  const settings = new SignerSettings(core);
  const resources = new SignedResources(settings, settings.global('resources', DEFAULT_RESOURCES));
  await expandExistingCollections(core, resources);
  const chains = new Map<string, string>();
  const signers = buildSigners(core, settings, resources, chains);
  const capability = {
    description: 'Digital signatures for integrity and authenticity of records.',
    url: DOCS,
    version: core.version,
    resources: resources.exposed(),
    plugin_userid: PLUGIN_USERID,
    group_check_enabled: true,
    editors_group: EDITORS_GROUP,
    reviewers_group: REVIEWERS_GROUP,
    to_review_enabled: resources.toReviewEnabled,
  };
  core.capabilities.add('signer', capability);
  const state: SignerState = {
    core,
    resources,
    signers,
    reviewEvents: reviewEventsOf(core),
    allowFloats: settings.globalBool('allow_floats', false),
    hardDelete: settings.globalBool('hard_delete_destination_on_source_deletion', false),
  };
  subscribeWorkflow(core, state);
  if (resources.hasGlobs()) subscribeRegexExpansion(core, resources, capability.resources);
  core.heartbeats.add('signer', () => heartbeat(app, settings, signers));
  registerCertificateChains(app, chains);
  if (settings.globalBool('auto_create_resources', false)) await autoCreateResources(core, settings, resources);
}

/**
 * Remote Settings' signer: review workflow on source collections, signed copies in
 * preview and destination collections, ECDSA P-384 signatures (local key or Autograph).
 */
export default definePlugin({
  name: 'signer',
  aliases: ['kinto_signer', 'kinto_remote_settings.signer'],
  cli: [KEYPAIR_COMMAND],
  register: registerSigner,
});
