import {
  CAPABILITY_METHODS,
  type Backend,
  type ConditionalStore,
  type PutOptions,
  type RemoteObjectInfo,
  type UploadedObject,
} from './backend.ts';

/**
 * A backend that adds behaviour around another one (a thaw that waits, an upload guard). It
 * passes every call to `inner`; a subclass overrides only what it changes. The optional
 * capabilities (backend.ts) `inner` has are forwarded as they are, unless the subclass defines
 * the method itself, so a wrapper never drops a capability by forgetting it.
 */
export abstract class BackendWrapper implements Backend {
  readonly displayUrl: string;
  readonly conditional: ConditionalStore;
  protected readonly inner: Backend;

  constructor(inner: Backend) {
    this.inner = inner;
    this.displayUrl = inner.displayUrl;
    this.conditional = inner.conditional;
    forwardCapabilities(this, inner);
  }

  list(): Promise<RemoteObjectInfo[]> {
    return this.inner.list();
  }
  putFile(localPath: string, name: string, options: PutOptions): Promise<UploadedObject | void> {
    return this.inner.putFile(localPath, name, options);
  }
  get(name: string): Promise<AsyncIterable<Buffer>> {
    return this.inner.get(name);
  }
  getToFile(name: string, localPath: string): Promise<void> {
    return this.inner.getToFile(name, localPath);
  }
  head(name: string, options?: { readonly checksum?: boolean }): Promise<RemoteObjectInfo | null> {
    return this.inner.head(name, options);
  }
  delete(names: readonly string[]): Promise<void> {
    return this.inner.delete(names);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Gives `wrapper` each capability method of `inner` that `wrapper` does not define (on itself or
 * its prototype chain), bound to `inner`; a capability `inner` lacks stays absent, so the type
 * guards answer for the wrapper what they answer for `inner`.
 */
export function forwardCapabilities(wrapper: Backend, inner: Backend): void {
  const from = inner as unknown as Record<string, unknown>;
  const to = wrapper as unknown as Record<string, unknown>;
  for (const method of Object.values(CAPABILITY_METHODS)) {
    const fn = from[method];
    if (typeof fn !== 'function' || method in to) continue;
    Object.defineProperty(wrapper, method, { value: fn.bind(inner), enumerable: false, writable: false, configurable: true });
  }
}
