/**
 * Where backups live. Every target (file://, s3://) implements this; the archive layer never
 * knows which. Names are flat (duplicity's remote layout has no folders).
 */
export interface RemoteObjectInfo {
  readonly name: string;
  readonly size: number;
  /** Storage class for object stores (STANDARD, GLACIER, DEEP_ARCHIVE, ...); undefined for files. */
  readonly storageClass?: string;
}

export interface PutOptions {
  /** What kind of file this is, so a backend can choose a storage class (data vs metadata). */
  readonly role: 'volume' | 'manifest' | 'signature';
  /** The caller deletes the local file afterwards, so a backend may move it instead of copying. */
  readonly consumeLocal?: boolean;
}

export interface Backend {
  /** A stable, secret-free description for messages, e.g. `file:///srv/backup`. */
  readonly displayUrl: string;
  list(): Promise<RemoteObjectInfo[]>;
  /** Uploads a local file under `name`, atomically: readers never see a partial object. */
  putFile(localPath: string, name: string, options: PutOptions): Promise<void>;
  /** Streams an object's bytes. */
  get(name: string): Promise<AsyncIterable<Buffer>>;
  /** Downloads an object to a local file. */
  getToFile(name: string, localPath: string): Promise<void>;
  head(name: string): Promise<RemoteObjectInfo | null>;
  delete(names: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Errors a backend raises that the CLI maps to exit codes; the message is for humans. */
export class BackendError extends Error {
  readonly code: 'not-found' | 'access' | 'archived' | 'io' | 'config';
  constructor(code: BackendError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BackendError';
  }
}
