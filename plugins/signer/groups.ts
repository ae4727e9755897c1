/**
 * The `{cid}-editors` and `{cid}-reviewers` groups of a source collection, created in its
 * bucket with the collection (the creator editing, nobody reviewing yet) and allowed to
 * write it; deleted with it.
 */
import type { ResourceEvent, TransactionScope } from '../../core/events.ts';
import { ObjectNotFoundError, UnicityError } from '../../core/storage/types.ts';
import { EDITORS_GROUP, REVIEWERS_GROUP, forbidden, groupName, groupUri, type StatusChange } from './checks.ts';
import { PLUGIN_USERID } from './updater.ts';

type Creation = Pick<StatusChange, 'resource' | 'bucketId' | 'userId' | 'principals'>;

/** Kinto's `check_permission` on the permission backend (settings principals do not count here). */
async function mayCreateGroups(scope: TransactionScope, bid: string, principals: readonly string[]): Promise<boolean> {
  const bucket = `/buckets/${bid}`;
  const authorized = await scope.permission.getAuthorizedPrincipals([
    [bucket, 'group:create'],
    [bucket, 'write'],
  ]);
  return principals.some((p) => authorized.has(p));
}

async function ensureGroup(scope: TransactionScope, events: ResourceEvent[], bid: string, gid: string, members: string[], writers: string[]) {
  const uri = groupUri(bid, gid);
  let created;
  try {
    created = await scope.storage.create('group', `/buckets/${bid}`, { id: gid, members });
  } catch (error) {
    if (error instanceof UnicityError) return;
    throw error;
  }
  await scope.permission.replaceObjectPermissions(uri, { write: writers });
  // Members hold the group's principal, as when a group is written through the API.
  for (const member of members) await scope.permission.addUserPrincipal(member, uri);
  events.push({
    payload: { timestamp: created.last_modified, action: 'create', uri, user_id: PLUGIN_USERID, resource_name: 'group', bucket_id: bid, group_id: gid },
    parentId: `/buckets/${bid}`,
    impacted: [{ new: created }],
  });
}

export async function createReviewGroups(scope: TransactionScope, events: ResourceEvent[], creation: Creation): Promise<void> {
  const bid = creation.bucketId;
  if (!(await mayCreateGroups(scope, bid, creation.principals))) {
    throw forbidden(
      `Cannot create collection without \`group:create\` on bucket '${bid}': editors/reviewers groups cannot be set up.`,
    );
  }
  const cid = creation.resource.source.collection;
  const writers = creation.userId === null ? [] : [creation.userId];
  const editors = groupName(EDITORS_GROUP, cid);
  const reviewers = groupName(REVIEWERS_GROUP, cid);
  await ensureGroup(scope, events, bid, editors, writers, writers);
  await ensureGroup(scope, events, bid, reviewers, [], writers);
  const collection = `/buckets/${bid}/collections/${cid}`;
  for (const gid of [editors, reviewers]) await scope.permission.addPrincipalToAce(collection, 'write', groupUri(bid, gid));
}

/** Deletes both groups (tombstones unless hard delete); members lose their principals. */
export async function deleteReviewGroups(scope: TransactionScope, bid: string, cid: string, hardDelete: boolean): Promise<void> {
  for (const gid of [groupName(EDITORS_GROUP, cid), groupName(REVIEWERS_GROUP, cid)]) {
    try {
      await scope.storage.delete('group', `/buckets/${bid}`, gid, { withTombstone: !hardDelete });
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
      continue;
    }
    await scope.permission.removePrincipal(groupUri(bid, gid));
    await scope.permission.deleteObjectPermissions(groupUri(bid, gid));
  }
}
