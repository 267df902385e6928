/**
 * Where backups are kept: a directory (`file:///var/backups/paimon`, for a laptop or a drill) or
 * the backup bucket (`s3://paimon-production-backups-…/`, SSE-KMS with the data key). Both put a
 * backup's artefacts and manifest under `<kind>/<backup-id>/`, the bucket's per-kind prefixes
 * that each backup role may write. A put is whole or absent: the directory store writes through a
 * temporary file and a rename; S3 makes an object visible only once its upload completes. So is a
 * put that its signal aborts (a stopped backup).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

export interface BackupStore {
  /** The target's URL, for messages. */
  readonly url: string;
  /** Stores the file; `signal` aborts the upload. */
  putFile(key: string, file: string, signal?: AbortSignal): Promise<void>;
  putText(key: string, text: string, signal?: AbortSignal): Promise<void>;
  /** Writes the object to a local file; throws when there is none. */
  download(key: string, file: string, signal?: AbortSignal): Promise<void>;
  /** The object's text, or undefined when there is none. */
  getText(key: string): Promise<string | undefined>;
  /** Every object under the prefix, at any depth. */
  list(prefix: string): Promise<StoredObject[]>;
  remove(keys: readonly string[]): Promise<void>;
}

/** A directory as a store. */
export function fileStore(root: string): BackupStore {
  const full = (key: string) => {
    const resolved = path.resolve(root, key);
    if (!resolved.startsWith(`${path.resolve(root)}${path.sep}`)) throw new Error(`key ${key} leaves the store`);
    return resolved;
  };
  const atomically = async (key: string, write: (temporary: string) => Promise<void>) => {
    const target = full(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.partial`;
    try {
      await write(temporary);
      await rename(temporary, target);
    } finally {
      await rm(temporary, { force: true });
    }
  };
  const walk = async (directory: string): Promise<string[]> => {
    const entries = await readdir(directory, { withFileTypes: true }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    });
    const nested = await Promise.all(
      entries.map((entry) =>
        entry.isDirectory()
          ? walk(path.join(directory, entry.name))
          : Promise.resolve([path.join(directory, entry.name)]),
      ),
    );
    return nested.flat().filter((file) => !file.endsWith(".partial"));
  };
  return {
    url: `file://${path.resolve(root)}`,
    putFile: (key, file, signal) =>
      atomically(key, (temporary) => pipeline(createReadStream(file), createWriteStream(temporary), { signal })),
    putText: (key, text, signal) => atomically(key, (temporary) => writeFile(temporary, text, { signal })),
    async download(key, file, signal) {
      await pipeline(createReadStream(full(key)), createWriteStream(file), { signal });
    },
    async getText(key) {
      try {
        return await readFile(full(key), "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    async list(prefix) {
      const base = path.resolve(root);
      const files = await walk(path.join(base, prefix));
      return Promise.all(
        files.map(async (file) => ({
          key: path.relative(base, file).split(path.sep).join("/"),
          size: (await stat(file)).size,
        })),
      );
    },
    async remove(keys) {
      await Promise.all(keys.map((key) => rm(full(key), { force: true })));
      // A backup's directory goes with its last file (rmdir refuses one that still holds any).
      for (const directory of new Set(keys.map((key) => path.dirname(full(key)))))
        await rmdir(directory).catch(() => undefined);
    },
  };
}

export interface S3StoreOptions {
  readonly bucket: string;
  /** A key prefix inside the bucket ("" for none). */
  readonly prefix: string;
  readonly client: S3Client;
  /** SSE-KMS with this key; without one, the bucket's default encryption applies. */
  readonly kmsKeyId?: string | undefined;
}

/** The backup bucket as a store: SSE-KMS, SHA-256 checksums on every upload, multipart for dumps. */
export function s3Store(options: S3StoreOptions): BackupStore {
  const { bucket, client } = options;
  const key = (name: string) => `${options.prefix}${name}`;
  const encryption = options.kmsKeyId
    ? ({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: options.kmsKeyId } as const)
    : {};
  return {
    url: `s3://${bucket}/${options.prefix}`,
    async putFile(name, file, signal) {
      signal?.throwIfAborted();
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key: key(name),
          Body: createReadStream(file),
          ChecksumAlgorithm: "SHA256",
          ...encryption,
        },
        queueSize: 2,
        partSize: 16 * 1024 * 1024,
        // An aborted or failed multipart upload is aborted on S3 too: its parts are not kept.
        leavePartsOnError: false,
      });
      // Upload takes no signal, only abort(): done() rejects at once, no further part is sent, and
      // the multipart upload is aborted on S3 once the parts in flight are answered. A one-part
      // upload (a PutObject) in flight still completes: whole, and without a manifest beside it.
      const abort = () => {
        void upload.abort();
      };
      signal?.addEventListener("abort", abort, { once: true });
      try {
        await upload.done();
      } finally {
        signal?.removeEventListener("abort", abort);
      }
    },
    async putText(name, text, signal) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key(name),
          Body: text,
          ContentType: "application/json",
          ChecksumAlgorithm: "SHA256",
          ...encryption,
        }),
        signal ? { abortSignal: signal } : {},
      );
    },
    async download(name, file, signal) {
      const answer = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key(name), ChecksumMode: "ENABLED" }),
        signal ? { abortSignal: signal } : {},
      );
      if (!(answer.Body instanceof Readable)) throw new Error(`s3://${bucket}/${key(name)}: no body`);
      await pipeline(answer.Body, createWriteStream(file), { signal });
    },
    async getText(name) {
      try {
        const answer = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key(name), ChecksumMode: "ENABLED" }),
        );
        return await answer.Body?.transformToString("utf8");
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw error;
      }
    },
    async list(prefix) {
      const objects: StoredObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: key(prefix), ContinuationToken: token }),
        );
        for (const object of page.Contents ?? [])
          if (object.Key !== undefined)
            objects.push({ key: object.Key.slice(options.prefix.length), size: object.Size ?? 0 });
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return objects;
    },
    async remove(names) {
      for (let index = 0; index < names.length; index += 1000) {
        const batch = names.slice(index, index + 1000);
        const answer = await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((name) => ({ Key: key(name) })), Quiet: true },
          }),
        );
        if ((answer.Errors ?? []).length > 0)
          throw new Error(`s3://${bucket}: could not delete ${(answer.Errors ?? []).map((e) => e.Key).join(", ")}`);
      }
    },
  };
}

export interface StoreEnvironment {
  readonly region?: string | undefined;
  /** An S3-compatible endpoint (a local server in tests); AWS's own otherwise. */
  readonly s3Endpoint?: string | undefined;
  readonly kmsKeyId?: string | undefined;
}

/** The bucket and key prefix of an `s3://<bucket>[/<prefix>]` target; undefined for any other. */
export function s3Location(target: string): { readonly bucket: string; readonly prefix: string } | undefined {
  const url = new URL(target);
  if (url.protocol !== "s3:") return undefined;
  const prefix = url.pathname.replace(/^\/+/, "");
  return { bucket: url.hostname, prefix: prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/` };
}

/** The store a target URL names: `file://<dir>` or `s3://<bucket>[/<prefix>]`. */
export function openStore(target: string, environment: StoreEnvironment = {}): BackupStore {
  const url = new URL(target);
  if (url.protocol === "file:") return fileStore(fileURLToPath(url));
  const s3 = s3Location(target);
  if (s3) {
    return s3Store({
      ...s3,
      kmsKeyId: environment.kmsKeyId,
      client: new S3Client({
        ...(environment.region ? { region: environment.region } : {}),
        ...(environment.s3Endpoint ? { endpoint: environment.s3Endpoint, forcePathStyle: true } : {}),
      }),
    });
  }
  throw new Error(`BACKUP_TARGET must be a file:// or s3:// URL, not ${url.protocol}`);
}
