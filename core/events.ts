import type { JsonObject } from './filters/ast.ts';
import type { Permission } from './permission/types.ts';
import type { Storage } from './storage/types.ts';

export const ACTIONS = ['create', 'update', 'delete', 'read'] as const;
export type Action = (typeof ACTIONS)[number];

export interface ImpactedObject {
  new?: JsonObject;
  old?: JsonObject;
}

/** What Kinto's ResourceChanged carries: the payload plus the objects that changed. */
export interface ResourceEvent {
  readonly payload: {
    timestamp: number;
    action: Action;
    uri: string;
    user_id: string | null;
    resource_name: string;
    [id: string]: unknown;
  };
  readonly parentId: string;
  readonly impacted: ImpactedObject[];
}

/** The backends of the current transaction, handed to listeners that write with the request. */
export interface TransactionScope {
  storage: Storage;
  permission: Permission;
}

export interface EventListener {
  /** `transaction`: runs before commit and can abort the request by throwing. `commit`: after commit. */
  readonly phase: 'transaction' | 'commit';
  readonly resources?: readonly string[];
  readonly actions?: readonly Action[];
  handle(events: ResourceEvent[], scope: TransactionScope): Promise<void>;
}

/** Kinto's ServerFlushed: every backend was emptied (`POST /__flush__`); plugins drop what they derived. */
export interface ServerFlushedEvent {
  readonly timestamp: number;
  readonly user_id: string | null;
}

export type ServerFlushedListener = (event: ServerFlushedEvent) => Promise<void> | void;

/** Subscriptions of one app; closed once the app is ready so no listener appears mid-flight. */
export class EventBus {
  private readonly listeners: EventListener[] = [];
  private readonly flushListeners: ServerFlushedListener[] = [];
  private closed = false;

  subscribe(listener: EventListener): void {
    if (this.closed) throw new Error('Event listeners must be registered before the server starts');
    this.listeners.push(listener);
  }

  onServerFlushed(listener: ServerFlushedListener): void {
    if (this.closed) throw new Error('Event listeners must be registered before the server starts');
    this.flushListeners.push(listener);
  }

  async serverFlushed(event: ServerFlushedEvent): Promise<void> {
    for (const listener of this.flushListeners) await listener(event);
  }

  close(): void {
    this.closed = true;
  }

  get hasListeners(): boolean {
    return this.listeners.length > 0;
  }

  async dispatch(phase: EventListener['phase'], events: ResourceEvent[], scope: TransactionScope): Promise<void> {
    if (events.length === 0) return;
    const merged = mergeEvents(events);
    for (const listener of this.listeners) {
      if (listener.phase !== phase) continue;
      const selected = merged.filter(
        (e) =>
          (!listener.resources || listener.resources.includes(e.payload.resource_name)) &&
          (!listener.actions || listener.actions.includes(e.payload.action)),
      );
      if (selected.length) await listener.handle(selected, scope);
    }
  }
}

/** Kinto merges the events of a request (or batch) per resource, parent and action. */
export function mergeEvents(events: ResourceEvent[]): ResourceEvent[] {
  const groups = new Map<string, ResourceEvent>();
  for (const event of events) {
    const key = `${event.payload.resource_name}\u0000${event.parentId}\u0000${event.payload.action}`;
    const existing = groups.get(key);
    if (!existing) {
      groups.set(key, { payload: { ...event.payload }, parentId: event.parentId, impacted: [...event.impacted] });
      continue;
    }
    existing.impacted.push(...event.impacted);
    existing.payload.timestamp = Math.max(existing.payload.timestamp, event.payload.timestamp);
  }
  return [...groups.values()];
}
