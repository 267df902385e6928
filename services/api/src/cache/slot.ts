/**
 * One cached value with single-flight loading and invalidation by epoch. Invalidating bumps the
 * epoch; a value counts only under the epoch its load started in. So a request that arrives after
 * an invalidation never gets a value loaded before it — and every request that arrives within one
 * epoch shares that epoch's single load. A load that fails stores nothing: the value it would have
 * replaced stays invalid, the waiters get the error, and the next request loads again.
 *
 * `Cause` is what the caller says a load it starts is for (the cache's rebuild reason); a load
 * started without one is given `undefined`.
 */
export interface Loaded<T> {
  readonly value: T;
  /** False for a value good for the requests that waited on it but not for later ones (part of it could not be read). */
  readonly keep: boolean;
}

export class Slot<T, Cause = never> {
  #epoch = 0;
  #stored: { readonly epoch: number; readonly value: T } | undefined;
  #loading: { readonly epoch: number; readonly promise: Promise<T> } | undefined;
  #attempted = false;

  constructor(private readonly load: (cause: Cause | undefined) => Promise<Loaded<T>>) {}

  /** The value, if it is valid now; never loads. */
  current(): T | undefined {
    return this.#stored?.epoch === this.#epoch ? this.#stored.value : undefined;
  }

  /** Whether a value was ever loaded (a slot worth reloading at once when it is invalidated). */
  get used(): boolean {
    return this.#stored !== undefined;
  }

  /** Whether a load was ever started, whatever became of it (a first build that failed included). */
  get attempted(): boolean {
    return this.#attempted;
  }

  /** The valid value, or the load of this epoch (started now, for `cause`, or joined). */
  get(cause?: Cause): Promise<T> {
    const stored = this.current();
    if (stored !== undefined) return Promise.resolve(stored);
    if (this.#loading?.epoch === this.#epoch) return this.#loading.promise;
    const epoch = this.#epoch;
    const promise = this.load(cause).then(
      ({ value, keep }) => {
        // A slower load of an older epoch never replaces what a newer one stored.
        if (keep && (this.#stored === undefined || this.#stored.epoch <= epoch)) this.#stored = { epoch, value };
        if (this.#loading?.promise === promise) this.#loading = undefined;
        return value;
      },
      (error: unknown) => {
        if (this.#loading?.promise === promise) this.#loading = undefined;
        throw error;
      },
    );
    this.#loading = { epoch, promise };
    // After the load began: what it was told of earlier attempts is what came before it.
    this.#attempted = true;
    return promise;
  }

  /** From now on, neither the stored value nor a load in flight serves a new request. */
  invalidate(): void {
    this.#epoch += 1;
  }
}
