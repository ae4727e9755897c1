/**
 * Redis event transport (`use = redis`, or `kinto_redis.listeners` as in Kinto's kinto-redis).
 * Every committed event is sent as one JSON message (`eventMessage`):
 *
 * - `channel = <name>`: PUBLISHed on a pub/sub channel (live subscribers, no retention);
 * - `listname = <name>`: LPUSHed on a list (a queue that workers pop, as kinto-redis did).
 *
 * Without either, `use = redis` publishes on the channel `kinto.core.events` and the kinto-redis
 * names push on the list `kinto.core.events` (kinto-redis' default). `url` defaults to
 * `redis://localhost:6379/0`; `pool_size` is accepted and unused (one pipelined connection).
 */
import { Redis } from 'ioredis';
import { eventMessage, type EventTransport, type ListenerConfig } from '../event-listeners.ts';
import type { ResourceEvent } from '../events.ts';
import { SettingsError } from '../settings/ini.ts';

const DEFAULT_TARGET = 'kinto.core.events';

interface Target {
  kind: 'channel' | 'list';
  name: string;
}

function targetOf(config: ListenerConfig): Target {
  const channel = config.option('channel');
  const list = config.option('listname');
  if (channel && list) throw new SettingsError(`${config.prefix}channel and ${config.prefix}listname are exclusive`);
  if (channel) return { kind: 'channel', name: channel };
  if (list) return { kind: 'list', name: list };
  return config.use === 'redis' ? { kind: 'channel', name: DEFAULT_TARGET } : { kind: 'list', name: DEFAULT_TARGET };
}

export default function redisTransport(config: ListenerConfig): EventTransport {
  const target = targetOf(config);
  const client = new Redis(config.option('url') ?? 'redis://localhost:6379/0', {
    // Commands wait while (re)connecting, but not forever: the error is then logged by the loader.
    maxRetriesPerRequest: 3,
  });
  // Connection errors are retried by ioredis; failed deliveries are reported per event.
  client.on('error', () => {});
  return {
    async deliver(events: readonly ResourceEvent[]) {
      // Queued synchronously, in commit order, on one connection: subscribers see that order.
      const sent = events.map((event) =>
        target.kind === 'channel' ? client.publish(target.name, eventMessage(event)) : client.lpush(target.name, eventMessage(event)),
      );
      await Promise.all(sent);
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
