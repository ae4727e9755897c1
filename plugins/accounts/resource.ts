import { KintoError, invalidParameters, type ErrorBody } from '../../core/errors.ts';
import type { JsonObject } from '../../core/filters/ast.ts';
import { isPlainObject } from '../../core/resource/call.ts';
import type { HookContext, IdGenerator, PathParams, RequestInfo, ResourceDefinition } from '../../core/resource/definition.ts';
import type { Settings } from '../../core/settings/load.ts';
import type { StoredObject } from '../../core/storage/types.ts';
import { ACCOUNT_POLICY_NAME, hashPassword } from './authentication.ts';

/** Kinto's AccountIdGenerator: a name that may also hold `+`, `.` and `@` (emails). */
export const ACCOUNT_ID_PATTERN = /^[a-zA-Z0-9][+.@a-zA-Z0-9_-]*$/;

/** Accounts are never given a generated id: a POST without one is refused as Kinto does. */
const accountIdGenerator: IdGenerator = {
  pattern: ACCOUNT_ID_PATTERN,
  generate() {
    throw invalidParameters('body', 'data.id', 'Accounts must have an ID.');
  },
};

/** Kinto answers an anonymous read of the accounts list with this bare 401 body. */
class CannotReadAccounts extends KintoError {
  constructor() {
    super('MISSING_AUTH_TOKEN', { message: 'Cannot read accounts.' });
  }

  override toBody(): ErrorBody {
    return { code: 401, errno: 999, error: 'Cannot read accounts.' };
  }
}

export function isAccountAdmin(settings: Settings, principals: readonly string[]): boolean {
  const admins = new Set(settings.list('account_write_principals'));
  return principals.some((p) => admins.has(p));
}

/** The user id without its policy prefix (Kinto's `selected_userid`). */
function selectedUserId(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

/** `data.id` of a POST body (Kinto's `_extract_posted_body_id`). */
function postedId(request: RequestInfo): string {
  const body = request.body;
  const id = isPlainObject(body) && isPlainObject(body.data) ? body.data.id : undefined;
  if (id !== undefined) return String(id);
  if (request.method === 'POST') throw invalidParameters('body', 'data.id', 'data.id in body: Required');
  throw new CannotReadAccounts();
}

/**
 * Accounts are stored with their username as parent, so that a user only ever sees its
 * own. Administrators reach any account (`*` when listing); anonymous callers may only
 * create one, under the id they ask for (Kinto's `Account.get_parent_id`).
 */
function storageParent(params: PathParams, request: RequestInfo, admin: boolean): string {
  const onPlural = params.id === undefined;
  if (admin) {
    if (!onPlural) return params.id;
    return request.method === 'POST' ? postedId(request) : '*';
  }
  if (request.userId !== null) return selectedUserId(request.userId);
  return onPlural ? postedId(request) : params.id;
}

function resolveParams(params: PathParams, request: RequestInfo): PathParams {
  const admin = isAccountAdmin(request.settings, request.principals);
  const parent = storageParent(params, request, admin);
  const resolved: PathParams = { ...params, __parent: parent };
  // What anonymous callers and admins create belongs to the account itself.
  if (admin || request.userId === null) resolved.__owner = `${ACCOUNT_POLICY_NAME}:${parent}`;
  return resolved;
}

function checkPassword(object: JsonObject): string {
  const password = object.password;
  if (password === undefined || password === null || password === '') {
    throw invalidParameters('body', 'data.password', 'Required');
  }
  if (typeof password !== 'string') {
    throw invalidParameters('body', 'data.password', `${JSON.stringify(password)} is not a string`);
  }
  return password;
}

/** Non-admin users may only write their own account (Kinto's `Account.process_object`). */
function checkOwnership(ctx: HookContext, object: JsonObject): void {
  if (ctx.userId === null || isAccountAdmin(ctx.settings, ctx.principals)) return;
  if (object.id !== selectedUserId(ctx.userId)) {
    throw invalidParameters('body', 'data.id', 'Username and account ID do not match.');
  }
}

/**
 * The password is stored as a bcrypt hash. A value equal to the stored hash is the hash
 * itself sent back (PATCH of other fields, PUT of a fetched account) and is kept as is.
 */
async function processAccount(ctx: HookContext, object: JsonObject, old: StoredObject | null): Promise<JsonObject> {
  const password = checkPassword(object);
  if (object.id === undefined) throw invalidParameters('body', 'data.id', 'Accounts must have an ID.');
  checkOwnership(ctx, object);
  if (old !== null && old.password === password) return object;
  return { ...object, password: await hashPassword(password) };
}

/** The `account` resource: `/accounts` and `/accounts/{id}`. */
export function accountResource(): ResourceDefinition {
  return {
    name: 'account',
    pluralPath: '/accounts',
    objectPath: '/accounts/:id',
    parentId: (params) => params.__parent,
    objectUri: (_params, id) => `/accounts/${id}`,
    idGenerator: accountIdGenerator,
    permissions: ['read', 'write'],
    resolveParams,
    ownerPrincipal: (params) => params.__owner ?? null,
    processObject: processAccount,
  };
}
