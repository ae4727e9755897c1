/**
 * Review events (the reference's ReviewRequested, ReviewRejected, ReviewApproved,
 * ReviewCanceled, plus CollectionSigned after every signature), for other plugins
 * (emails, chat notifications, static export). They are delivered inside the request's
 * transaction, once the resource listeners are done, as Remote Settings sends them from a
 * before-commit hook: a subscriber's writes commit or roll back with the request.
 */
import type { KintoCore } from '../../core/context.ts';
import type { ImpactedObject, ResourceEvent, TransactionScope } from '../../core/events.ts';
import type { ResolvedResource } from './config.ts';

export type ReviewEventType = 'ReviewRequested' | 'ReviewRejected' | 'ReviewApproved' | 'ReviewCanceled' | 'CollectionSigned';

export interface ReviewEvent {
  readonly type: ReviewEventType;
  /** The source collection's event payload, with `uri`/`collection_id` of the source and the review fields. */
  readonly payload: ResourceEvent['payload'] & {
    comment?: string;
    changes_count?: number | null;
    changes_size_bytes?: number | null;
  };
  readonly impacted: ImpactedObject[];
  readonly resource: ResolvedResource;
}

export type ReviewListener = (event: ReviewEvent, scope: TransactionScope) => Promise<void> | void;

/** Subscriptions of one app. */
export class ReviewEvents {
  private readonly listeners: { types: readonly ReviewEventType[] | null; listener: ReviewListener }[] = [];

  subscribe(listener: ReviewListener, types: readonly ReviewEventType[] | null = null): void {
    this.listeners.push({ types, listener });
  }

  async deliver(events: readonly ReviewEvent[], scope: TransactionScope): Promise<void> {
    for (const event of events) {
      for (const { types, listener } of this.listeners) {
        if (types === null || types.includes(event.type)) await listener(event, scope);
      }
    }
  }
}

const buses = new WeakMap<KintoCore, ReviewEvents>();

/** The review events of an app: `reviewEventsOf(core).subscribe(...)` from another plugin. */
export function reviewEventsOf(core: KintoCore): ReviewEvents {
  let bus = buses.get(core);
  if (!bus) {
    bus = new ReviewEvents();
    buses.set(core, bus);
  }
  return bus;
}
