import { invalidParameters } from '../errors.ts';
import type { IdGenerator, ResourceDefinition } from '../resource/definition.ts';
import { bucketUri, parentOr404, validateFromBucketSchema } from './shared.ts';

const groupUri = (bucketId: string, groupId: string) => `/buckets/${bucketId}/groups/${groupId}`;

function readMembers(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidParameters('body', 'data.members', `"${String(value)}" is not iterable`);
  for (const [index, member] of value.entries()) {
    // colander names a sequence item by its index: `data.members.0`.
    const name = `data.members.${index}`;
    if (typeof member !== 'string') throw invalidParameters('body', name, `${JSON.stringify(member)} is not a string`);
    if (member.startsWith('/buckets/') || member === 'system.Everyone') {
      throw invalidParameters('body', name, `'${member}' is not a valid user ID.`);
    }
  }
  return value as string[];
}

export function groupResource(idGenerator: IdGenerator): ResourceDefinition {
  return {
    name: 'group',
    pluralPath: '/buckets/:bucket_id/groups',
    objectPath: '/buckets/:bucket_id/groups/:id',
    parentId: (params) => bucketUri(params.bucket_id),
    objectUri: (params, id) => groupUri(params.bucket_id, id),
    idGenerator,
    permissions: ['read', 'write'],
    async processObject(ctx, object) {
      await parentOr404(ctx.uow, 'bucket', '', ctx.params.bucket_id);
      const members = readMembers(object.members);
      await validateFromBucketSchema(ctx, 'group', object, ['last_modified']);
      return { ...object, members };
    },
    /** Members gain (or lose) the group URI among their principals. */
    async afterSave(ctx, group, old) {
      const uri = groupUri(ctx.params.bucket_id, group.id);
      const before = new Set((old?.members as string[] | undefined) ?? []);
      const after = new Set((group.members as string[] | undefined) ?? []);
      for (const member of after) if (!before.has(member)) await ctx.uow.permission.addUserPrincipal(member, uri);
      for (const member of before) if (!after.has(member)) await ctx.uow.permission.removeUserPrincipal(member, uri);
    },
    async afterDelete(ctx, deleted) {
      for (const group of deleted) await ctx.uow.permission.removePrincipal(groupUri(ctx.params.bucket_id, group.id));
    },
  };
}
