import type { Authorizer, Identity } from './auth/authorization.ts';
import type { InheritanceTree } from './auth/inheritance.ts';
import type { AuthenticationPolicy, PolicyFactory } from './auth/policies.ts';
import type { Cache } from './cache/types.ts';
import type { EventBus } from './events.ts';
import type { Metrics } from './metrics.ts';
import type { PermissionBackend } from './permission/types.ts';
import type { ResourceDefinition } from './resource/definition.ts';
import type { ListingCache } from './resource/listing-cache.ts';
import type { LoadedConfig, Settings } from './settings/load.ts';
import type { StorageBackend } from './storage/types.ts';
import { SettingsError } from './settings/ini.ts';

export interface Capability {
  description: string;
  url: string;
  [extra: string]: unknown;
}

/** A heartbeat check: true/false, or null when not applicable. */
export type Heartbeat = () => Promise<boolean | null>;

/**
 * Registries filled while the app is assembled, closed once it is ready. Adding the same
 * name twice is a start-up error (Kinto's `add_api_capability` rule), not a silent override.
 */
export class Registry<T> {
  private readonly entries = new Map<string, T>();
  private readonly kind: string;
  private closed = false;

  constructor(kind: string) {
    this.kind = kind;
  }

  add(name: string, value: T): void {
    if (this.closed) throw new Error(`Cannot add ${this.kind} '${name}' after start-up`);
    // A configuration conflict (two plugins claiming one name), reported like other start-up errors.
    if (this.entries.has(name)) throw new SettingsError(`The ${this.kind} '${name}' is already registered`);
    this.entries.set(name, value);
  }

  get(name: string): T | undefined {
    return this.entries.get(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  all(): [string, T][] {
    return [...this.entries];
  }

  close(): void {
    this.closed = true;
  }
}

/** Everything a request handler or plugin reaches through `app.kinto`. */
export interface KintoCore {
  readonly config: LoadedConfig;
  readonly settings: Settings;
  readonly version: string;
  readonly storage: StorageBackend;
  readonly permission: PermissionBackend;
  readonly cache: Cache;
  readonly events: EventBus;
  readonly tree: InheritanceTree;
  readonly authorizer: Authorizer;
  readonly policies: AuthenticationPolicy[];
  readonly policyFactories: Registry<PolicyFactory>;
  readonly capabilities: Registry<Capability>;
  readonly heartbeats: Registry<Heartbeat>;
  readonly resources: Registry<ResourceDefinition>;
  /** Settings shown in the hello view's `settings`. */
  readonly publicSettings: Registry<true>;
  /** Contributions to the hello view's `user` (e.g. the default bucket id). */
  readonly userInfo: Registry<UserInfoProvider>;
  /** Where the core's measurements go: a metrics plugin (StatsD, Prometheus) provides the service. */
  readonly metrics: Metrics;
  /** Listings kept by the version of their list (core/resource/listing-cache.ts). */
  readonly listings: ListingCache;
}

export type UserInfoProvider = (identity: Identity) => Promise<Record<string, unknown>>;
