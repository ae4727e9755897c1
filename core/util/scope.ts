import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Identifies the unit of work an async call belongs to. Single-connection engines (PGlite)
 * use it to let the owner of the open transaction keep using the connection (e.g. a cache
 * lookup in the middle of a request) instead of waiting for itself.
 */
export const transactionOwner = new AsyncLocalStorage<object>();
