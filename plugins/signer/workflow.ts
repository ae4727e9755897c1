/**
 * The review workflow, run in the request's transaction after its writes (Remote
 * Settings' ResourceChanged subscribers, in their order): a status change on a source
 * collection pushes and signs its preview or destination, record changes put it back to
 * work-in-progress, a new source gets its editors/reviewers groups, a deleted one takes
 * its preview and destination with it.
 */
import { AUTHENTICATED, EVERYONE } from '../../core/auth/authorization.ts';
import type { KintoCore } from '../../core/context.ts';
import type { ImpactedObject, ResourceEvent, TransactionScope } from '../../core/events.ts';
import type { JsonObject } from '../../core/filters/ast.ts';
import { ObjectNotFoundError } from '../../core/storage/types.ts';
import type { SignerBackend } from './backends/types.ts';
import { checkDeletable, checkNoFloat, checkNotManaged, checkStatusChange, checkTrackingFields } from './checks.ts';
import type { ResolvedResource } from './config.ts';
import type { ReviewEvent, ReviewEvents } from './events.ts';
import { createReviewGroups, deleteReviewGroups } from './groups.ts';
import type { SignedResources } from './resources.ts';
import { PLUGIN_USERID, STATUS, Updater, type UpdaterContext } from './updater.ts';

export interface SignerState {
  readonly core: KintoCore;
  readonly resources: SignedResources;
  readonly signers: Map<string, SignerBackend>;
  readonly reviewEvents: ReviewEvents;
  readonly allowFloats: boolean;
  readonly hardDelete: boolean;
}

/** One request, as the listeners see it. */
interface Request {
  state: SignerState;
  scope: TransactionScope;
  events: ResourceEvent[];
  userId: string | null;
  principals: readonly string[];
  review: ReviewEvent[];
}

function signerOf(state: SignerState, resource: ResolvedResource): SignerBackend {
  const signer = state.signers.get(resource.key) ?? state.signers.get(`/buckets/${resource.source.bucket}`);
  if (!signer) throw new Error(`No signer for ${resource.key}`);
  return signer;
}

function updaterFor(request: Request, resource: ResolvedResource, destination: ResolvedResource['destination'], editorCommentSent = false) {
  const context: UpdaterContext = {
    storage: request.scope.storage,
    permission: request.scope.permission,
    events: request.events,
    userId: request.userId,
    signer: signerOf(request.state, resource),
    editorCommentSent,
  };
  return new Updater(context, resource.source, destination);
}

async function principalsOf(scope: TransactionScope, userId: string | null): Promise<string[]> {
  if (userId === null) return [EVERYONE];
  return [...new Set([userId, EVERYONE, AUTHENTICATED, ...(await scope.permission.getUserPrincipals(userId))])];
}

async function onRecordEvent(request: Request, event: ResourceEvent): Promise<void> {
  const { bucket_id: bid, collection_id: cid } = event.payload as Record<string, string>;
  checkNotManaged(request.state.resources, bid, cid);
  const resource = request.state.resources.pick(bid, cid);
  if (!resource) return;
  if (!request.state.allowFloats && event.payload.action !== 'delete') {
    for (const impacted of event.impacted) if (impacted.new) checkNoFloat(impacted.new);
  }
  await updaterFor(request, resource, resource.destination).updateSourceStatus(STATUS.WORK_IN_PROGRESS);
}

function reviewEvent(type: ReviewEvent['type'], event: ResourceEvent, impacted: ImpactedObject, resource: ResolvedResource, extra: JsonObject): ReviewEvent {
  const payload = { ...event.payload, uri: `/buckets/${resource.source.bucket}/collections/${resource.source.collection}`, collection_id: resource.source.collection, ...extra };
  return { type, payload, impacted: [impacted], resource };
}

/** The reference's `sign_collection_data` for one collection of the event. */
async function signCollection(request: Request, event: ResourceEvent, impacted: ImpactedObject, resource: ResolvedResource): Promise<void> {
  const current = impacted.new ?? {};
  const old = impacted.old ?? {};
  const { preview, destination } = resource;
  const signed = () => {
    request.review.push(reviewEvent('CollectionSigned', event, impacted, resource, {}));
  };
  if (event.payload.action === 'create') {
    if (preview) await updaterFor(request, resource, preview).signAndUpdateDestination({ sourceAttributes: current, nextStatus: null });
    await updaterFor(request, resource, destination).signAndUpdateDestination({ sourceAttributes: current, previousStatus: STATUS.SIGNED });
    return signed();
  }
  if (old.status === current.status) return;
  if (current.status === STATUS.TO_SIGN) {
    if (preview) await updaterFor(request, resource, preview).signAndUpdateDestination({ sourceAttributes: current, previousStatus: old.status });
    const [count, size] = await updaterFor(request, resource, destination).signAndUpdateDestination({ sourceAttributes: current, previousStatus: old.status });
    request.review.push(reviewEvent('ReviewApproved', event, impacted, resource, { changes_count: count, changes_size_bytes: size }));
    return signed();
  }
  if (current.status === STATUS.TO_REVIEW) return requestReview(request, event, impacted, resource);
  if (old.status === STATUS.TO_REVIEW && current.status === STATUS.WORK_IN_PROGRESS) {
    request.review.push(reviewEvent('ReviewRejected', event, impacted, resource, { comment: current.last_reviewer_comment ?? '' }));
    return;
  }
  if (current.status === STATUS.TO_REFRESH) {
    await updaterFor(request, resource, destination).refreshSignature(old.status);
    if (preview) await updaterFor(request, resource, preview).refreshSignature(old.status);
    return signed();
  }
  if (current.status === STATUS.TO_ROLLBACK) await rollback(request, event, impacted, resource);
}

async function requestReview(request: Request, event: ResourceEvent, impacted: ImpactedObject, resource: ResolvedResource): Promise<void> {
  const current = impacted.new ?? {};
  const sent = 'last_editor_comment' in current && current.last_editor_comment !== impacted.old?.last_editor_comment;
  let count: number | null = null;
  let size: number | null = null;
  if (resource.preview) {
    const updater = updaterFor(request, resource, resource.preview, sent);
    [count, size] = await updater.signAndUpdateDestination({ sourceAttributes: current, nextStatus: STATUS.TO_REVIEW });
  } else {
    await updaterFor(request, resource, resource.destination).updateSourceReviewRequestBy();
  }
  const comment = current.last_editor_comment ?? '';
  request.review.push(reviewEvent('ReviewRequested', event, impacted, resource, { changes_count: count, changes_size_bytes: size, comment }));
}

async function rollback(request: Request, event: ResourceEvent, impacted: ImpactedObject, resource: ResolvedResource): Promise<void> {
  let count = await updaterFor(request, resource, resource.destination).rollbackChanges();
  if (resource.preview) {
    // The preview goes back to the destination's content too, and is signed again.
    const previewAsSource = { ...resource, source: resource.preview };
    count += await updaterFor(request, previewAsSource, resource.destination).rollbackChanges(false);
    await updaterFor(request, resource, resource.preview).refreshSignature(null);
  }
  if (count > 0) request.review.push(reviewEvent('ReviewCanceled', event, impacted, resource, { changes_count: count }));
}

async function onCollectionWritten(request: Request, event: ResourceEvent): Promise<void> {
  const bid = event.payload.bucket_id as string;
  for (const impacted of event.impacted) {
    const cid = String(impacted.new?.id);
    // A created collection that a regex setting matches is picked as such here; it joins the
    // resource list after commit only (subscribeRegexExpansion), so a rollback leaves no trace.
    if (event.payload.action !== 'create') checkNotManaged(request.state.resources, bid, cid);
    const resource = request.state.resources.pick(bid, cid);
    if (!resource) continue;
    const change = { resource, bucketId: bid, userId: request.userId, principals: request.principals };
    checkStatusChange({ ...change, old: impacted.old ?? {}, new: impacted.new ?? {} });
    checkTrackingFields(impacted.old ?? {}, impacted.new ?? {});
    if (event.payload.action === 'create') await createReviewGroups(request.scope, request.events, change);
    await signCollection(request, event, impacted, resource);
  }
}

/** A deleted source takes its groups, preview and destination content with it. */
async function onCollectionDeleted(request: Request, event: ResourceEvent): Promise<void> {
  const bid = event.payload.bucket_id as string;
  for (const impacted of event.impacted) {
    const old = impacted.old ?? {};
    const cid = String(old.id);
    const resource = request.state.resources.pick(bid, cid);
    if (resource) {
      await deleteReviewGroups(request.scope, bid, cid, request.state.hardDelete);
      for (const target of [resource.preview, resource.destination]) {
        if (target) await cleanTarget(request, resource, target, old);
      }
    }
    await checkDeletable(request.state.resources, request.scope.storage, bid, cid);
  }
}

async function cleanTarget(request: Request, resource: ResolvedResource, target: ResolvedResource['destination'], old: JsonObject) {
  const { storage, permission } = request.scope;
  const uri = `/buckets/${target.bucket}/collections/${target.collection}`;
  if (!request.state.hardDelete) {
    await storage.deleteAll('record', uri, { withTombstones: true });
    await updaterFor(request, resource, target).signAndUpdateDestination({ sourceAttributes: old, nextStatus: null, pushRecords: false });
    return;
  }
  await storage.deleteAll(null, uri, { withTombstones: false });
  try {
    await storage.delete('collection', `/buckets/${target.bucket}`, target.collection, { withTombstone: false });
  } catch (error) {
    if (!(error instanceof ObjectNotFoundError)) throw error;
  }
  await storage.purgeDeleted(null, uri);
  await storage.purgeDeleted(null, `${uri}/*`);
  await permission.deleteObjectPermissions(uri, `${uri}/*`);
}

/** Handles one round of events of a request (plugin writes excluded), then sends review events. */
export async function handleEvents(state: SignerState, events: ResourceEvent[], scope: TransactionScope, queue: ResourceEvent[]): Promise<void> {
  const fromUsers = events.filter((e) => e.payload.user_id !== PLUGIN_USERID);
  if (fromUsers.length === 0) return;
  const userId = fromUsers[0].payload.user_id;
  const request: Request = { state, scope, events: queue, userId, principals: await principalsOf(scope, userId), review: [] };
  for (const event of fromUsers) {
    const { resource_name: resource, action } = event.payload;
    if (resource === 'record') await onRecordEvent(request, event);
    else if (resource === 'collection' && action === 'delete') await onCollectionDeleted(request, event);
    else if (resource === 'collection') await onCollectionWritten(request, event);
  }
  await state.reviewEvents.deliver(request.review, scope);
}
