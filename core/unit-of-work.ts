import { AsyncLocalStorage } from 'node:async_hooks';
import { transactionOwner } from './util/scope.ts';
import type { EventBus, ResourceEvent } from './events.ts';
import type { Permission, PermissionBackend } from './permission/types.ts';
import type { Storage, StorageBackend } from './storage/types.ts';

/** Everything one request (or one whole batch) writes, committed or rolled back together. */
export interface UnitOfWork {
  readonly storage: Storage;
  readonly permission: Permission;
  readonly readonly: boolean;
  readonly events: ResourceEvent[];
  /** Per-request memo (parents fetched, principals) shared by the subrequests of a batch. */
  readonly bound: Map<string, unknown>;
}

export interface UnitOfWorkBackends {
  storage: StorageBackend;
  permission: PermissionBackend;
  events: EventBus;
}

const current = new AsyncLocalStorage<UnitOfWork>();

export function currentUnitOfWork(): UnitOfWork | undefined {
  return current.getStore();
}

/**
 * Runs `work` in a transaction over storage and permissions. Nested calls (the
 * subrequests of a batch) join the outer unit, as Kinto runs a batch in one transaction.
 * In-transaction listeners run before commit and abort it by throwing.
 */
export async function inUnitOfWork<T>(
  backends: UnitOfWorkBackends,
  options: { readonly: boolean },
  work: (uow: UnitOfWork) => Promise<T>,
): Promise<T> {
  const outer = current.getStore();
  if (outer && (!outer.readonly || options.readonly)) return work(outer);

  return transactionOwner.run({}, () => runUnit(backends, options.readonly, work));
}

async function beginBoth(backends: UnitOfWorkBackends, readonly: boolean) {
  const storage = await backends.storage.begin({ readonly });
  try {
    // Backends on the same database share one transaction: a request's writes are atomic.
    const permission = backends.permission.beginAlongside?.(storage) ?? (await backends.permission.begin({ readonly }));
    return { storage, permission };
  } catch (error) {
    await storage.rollback();
    throw error;
  }
}

/** Listeners writing in the transaction (a signer) may emit events in turn: at most this many rounds. */
const MAX_EVENT_CASCADE = 10;

/**
 * In-transaction listeners, as Kinto's event cascade: events queued by listeners (their
 * own writes) are dispatched in a next round, merged only with events of that round.
 * Listeners run inside the unit of work (`currentUnitOfWork()` is theirs).
 */
async function dispatchInTransaction(events: EventBus, uow: UnitOfWork): Promise<void> {
  let dispatched = 0;
  for (let round = 0; dispatched < uow.events.length; round += 1) {
    if (round === MAX_EVENT_CASCADE) throw new Error('Event listeners keep emitting events (cascade too deep)');
    const pending = uow.events.slice(dispatched);
    dispatched = uow.events.length;
    await events.dispatch('transaction', pending, uow);
  }
}

async function runUnit<T>(backends: UnitOfWorkBackends, readonly: boolean, work: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  const { storage, permission } = await beginBoth(backends, readonly);
  const uow: UnitOfWork = { storage, permission, readonly, events: [], bound: new Map() };
  let result: T;
  try {
    result = await current.run(uow, async () => {
      const value = await work(uow);
      // Most units (every read) emit nothing: no round of listeners then.
      if (uow.events.length) await dispatchInTransaction(backends.events, uow);
      return value;
    });
  } catch (error) {
    await permission.rollback().catch(() => {});
    await storage.rollback().catch(() => {});
    throw error;
  }
  await storage.commit();
  await permission.commit();
  if (uow.events.length) await backends.events.dispatch('commit', uow.events, { storage: backends.storage, permission: backends.permission });
  return result;
}
