/**
 * A local AWS KMS for the signer's tests: an HTTP server speaking KMS's JSON protocol (`POST /`,
 * `X-Amz-Target: TrentService.<Operation>`, `application/x-amz-json-1.1`) that the real
 * `KMSClient` talks to through `endpoint`. No KMS emulator exists on npm, and moto's `Sign`
 * hashes a `DIGEST` again, so it cannot stand in for an Ethereum signer.
 *
 * It holds real secp256k1 keys (ethers `SigningKey`), answers `CreateKey`, `DescribeKey`,
 * `GetPublicKey` and `Sign` in KMS's shapes (an SPKI public key, DER signatures), and returns the
 * high-s twin of a signature about half the time, as real KMS does. Errors are KMS's:
 * `400 {"__type", "message"}` for an unknown key, a disabled key, denied access, and whatever a
 * test schedules (throttling, 5xx) with `failNext`.
 *
 * Limits: keys are found by id or key ARN (no aliases, no grants); `ECC_NIST_P256` and
 * `SYMMETRIC_DEFAULT` keys exist to be the wrong key (described, public key for P-256) but sign
 * nothing; the request's SigV4 signature is required but not verified.
 */
import { createHash, generateKeyPairSync, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";
import { computeAddress, getBytes, SigningKey, Wallet } from "ethers";

export const KMS_OPERATIONS = ["CreateKey", "DescribeKey", "GetPublicKey", "Sign"] as const;
export type KmsOperation = (typeof KMS_OPERATIONS)[number];

/** An error answer: the HTTP status and KMS's `__type`. */
export interface KmsFault {
  readonly status: number;
  readonly type: string;
  readonly message?: string;
}
export const THROTTLED: KmsFault = { status: 400, type: "ThrottlingException", message: "Rate exceeded" };
export const INTERNAL_FAILURE: KmsFault = { status: 500, type: "KMSInternalException", message: "internal failure" };
export const SERVICE_UNAVAILABLE: KmsFault = { status: 503, type: "DependencyTimeoutException", message: "timeout" };

export type KmsKeySpec = "ECC_SECG_P256K1" | "ECC_NIST_P256" | "SYMMETRIC_DEFAULT";

export interface KmsTestKey {
  readonly keyId: string;
  readonly arn: string;
  /** The Ethereum address of a secp256k1 key. */
  readonly address: string | undefined;
}

export interface KmsServerOptions {
  /** The chance that `Sign` answers with the high-s twin (n − s). @default 0.5 */
  readonly highSProbability?: number;
  /** @default "eu-west-1" */
  readonly region?: string;
}

export interface KmsCall {
  readonly operation: string;
  readonly keyId: string | undefined;
  readonly status: number;
  readonly errorType: string | undefined;
}

export interface KmsTestServer {
  readonly endpoint: string;
  readonly region: string;
  /** A real `KMSClient` for this server: dummy static credentials, and no SDK retries by default. */
  client(config?: Partial<KMSClientConfig>): KMSClient;
  /** Adds a key as `CreateKey` would; a secp256k1 key may be given its private key (imported). */
  addKey(options?: { keySpec?: KmsKeySpec; privateKey?: string }): KmsTestKey;
  disableKey(keyId: string): void;
  /** Every later request naming this key is answered `AccessDeniedException`. */
  denyAccess(keyId: string): void;
  /**
   * The next requests of `operation` naming `keyId` (by id or ARN), or of any key when it is
   * omitted, get these faults, one each, in order.
   */
  failNext(operation: KmsOperation, faults: readonly KmsFault[], options?: { keyId?: string }): void;
  /** Every request, in arrival order. */
  readonly calls: readonly KmsCall[];
  /** Signatures returned, and how many of them had a high s. */
  readonly signatures: { readonly total: number; readonly highS: number };
  close(): Promise<void>;
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const SECP256K1_SPKI_PREFIX = Buffer.from("3056301006072a8648ce3d020106052b8104000a034200", "hex");
const ACCOUNT = "111122223333";
const TARGET_PREFIX = "TrentService.";
const MAX_BODY_BYTES = 64 * 1024;

interface Key {
  readonly id: string;
  readonly arn: string;
  readonly spec: KmsKeySpec;
  readonly created: number;
  readonly signingKey: SigningKey | undefined;
  readonly spki: Buffer | undefined;
  enabled: boolean;
  denied: boolean;
}

class Fault extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startKmsServer(options: KmsServerOptions = {}): Promise<KmsTestServer> {
  const region = options.region ?? "eu-west-1";
  const highSProbability = options.highSProbability ?? 0.5;
  const keys = new Map<string, Key>();
  /** Scheduled faults by `${operation} ${key id or "*"}`. */
  const faults = new Map<string, KmsFault[]>();
  const keyIdOf = (keyId: string) =>
    keyId.startsWith(`arn:aws:kms:${region}:${ACCOUNT}:key/`) ? keyId.slice(keyId.lastIndexOf("/") + 1) : keyId;
  const calls: KmsCall[] = [];
  const signatures = { total: 0, highS: 0 };

  const addKey = (spec: KmsKeySpec, privateKey?: string): Key => {
    const id = randomUUID();
    let signingKey: SigningKey | undefined;
    let spki: Buffer | undefined;
    if (spec === "ECC_SECG_P256K1") {
      signingKey = new SigningKey(privateKey ?? Wallet.createRandom().privateKey);
      spki = Buffer.concat([SECP256K1_SPKI_PREFIX, getBytes(signingKey.publicKey)]);
    } else if (spec === "ECC_NIST_P256") {
      spki = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ type: "spki", format: "der" });
    }
    const key: Key = {
      id,
      arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`,
      spec,
      created: Date.now() / 1000,
      signingKey,
      spki,
      enabled: true,
      denied: false,
    };
    keys.set(id, key);
    return key;
  };

  const find = (keyId: unknown, operation: string): Key => {
    if (typeof keyId !== "string" || keyId === "") throw new Fault(400, "ValidationException", "KeyId is required");
    const key = keys.get(keyIdOf(keyId));
    if (!key) throw new Fault(400, "NotFoundException", `Key '${keyId}' does not exist`);
    if (key.denied) {
      throw new Fault(
        400,
        "AccessDeniedException",
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/workers/test is not authorized to perform: kms:${operation} on resource: ${key.arn}`,
      );
    }
    return key;
  };
  const usable = (key: Key): Key => {
    if (!key.enabled) throw new Fault(400, "DisabledException", `${key.arn} is disabled.`);
    return key;
  };

  const metadata = (key: Key) => ({
    AWSAccountId: ACCOUNT,
    KeyId: key.id,
    Arn: key.arn,
    CreationDate: key.created,
    Enabled: key.enabled,
    KeyState: key.enabled ? "Enabled" : "Disabled",
    KeyUsage: usage(key.spec),
    KeySpec: key.spec,
    CustomerMasterKeySpec: key.spec,
    Origin: "AWS_KMS",
    KeyManager: "CUSTOMER",
    MultiRegion: false,
    ...(key.spec === "SYMMETRIC_DEFAULT"
      ? { EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"] }
      : { SigningAlgorithms: ["ECDSA_SHA_256"] }),
  });

  const operations: Record<KmsOperation, (input: Record<string, unknown>) => unknown> = {
    CreateKey(input) {
      const spec = input.KeySpec ?? "SYMMETRIC_DEFAULT";
      if (spec !== "ECC_SECG_P256K1" && spec !== "ECC_NIST_P256" && spec !== "SYMMETRIC_DEFAULT") {
        throw new Fault(
          400,
          "ValidationException",
          `KeySpec ${JSON.stringify(spec)} is not supported by the test server`,
        );
      }
      if ((input.KeyUsage ?? "ENCRYPT_DECRYPT") !== usage(spec)) {
        throw new Fault(400, "ValidationException", `KeyUsage must be ${usage(spec)} for ${spec}`);
      }
      return { KeyMetadata: metadata(addKey(spec)) };
    },
    DescribeKey: (input) => ({ KeyMetadata: metadata(find(input.KeyId, "DescribeKey")) }),
    GetPublicKey(input) {
      const key = usable(find(input.KeyId, "GetPublicKey"));
      if (!key.spki) {
        throw new Fault(400, "UnsupportedOperationException", `${key.arn} key usage is ENCRYPT_DECRYPT`);
      }
      return {
        KeyId: key.arn,
        PublicKey: key.spki.toString("base64"),
        KeySpec: key.spec,
        CustomerMasterKeySpec: key.spec,
        KeyUsage: usage(key.spec),
        SigningAlgorithms: ["ECDSA_SHA_256"],
      };
    },
    Sign(input) {
      const key = usable(find(input.KeyId, "Sign"));
      if (key.spec === "SYMMETRIC_DEFAULT") {
        throw new Fault(400, "InvalidKeyUsageException", `${key.arn} key usage is ENCRYPT_DECRYPT`);
      }
      if (input.SigningAlgorithm !== "ECDSA_SHA_256") {
        throw new Fault(
          400,
          "InvalidKeyUsageException",
          `${JSON.stringify(input.SigningAlgorithm)} is not valid for ${key.arn}`,
        );
      }
      if (typeof input.Message !== "string") throw new Fault(400, "ValidationException", "Message is required");
      const message = Buffer.from(input.Message, "base64");
      const messageType = input.MessageType ?? "RAW";
      if (messageType === "DIGEST" && message.length !== 32) {
        throw new Fault(400, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.");
      }
      if (messageType !== "DIGEST" && messageType !== "RAW") {
        throw new Fault(400, "ValidationException", `MessageType ${JSON.stringify(messageType)} is not valid`);
      }
      if (!key.signingKey) {
        throw new Fault(400, "UnsupportedOperationException", `the test server signs with ECC_SECG_P256K1 keys only`);
      }
      // KMS signs a DIGEST as given; a RAW message it hashes with SHA-256 first.
      const digest = messageType === "DIGEST" ? message : createHash("sha256").update(message).digest();
      const signature = key.signingKey.sign(digest);
      const low = BigInt(signature.s);
      const high = Math.random() < highSProbability;
      signatures.total += 1;
      if (high) signatures.highS += 1;
      const der = encodeDerSignature(BigInt(signature.r), high ? SECP256K1_N - low : low);
      return { KeyId: key.arn, Signature: der.toString("base64"), SigningAlgorithm: "ECDSA_SHA_256" };
    },
  };

  const handle = async (request: IncomingMessage): Promise<{ status: number; body: unknown; record: KmsCall }> => {
    const target = request.headers["x-amz-target"];
    const operation =
      typeof target === "string" && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
    let keyId: string | undefined;
    try {
      if (request.method !== "POST" || request.url !== "/") {
        throw new Fault(404, "UnknownOperationException", "POST / only");
      }
      if (request.headers["content-type"] !== "application/x-amz-json-1.1") {
        throw new Fault(400, "SerializationException", "Content-Type must be application/x-amz-json-1.1");
      }
      if (!request.headers.authorization?.startsWith("AWS4-HMAC-SHA256 ")) {
        throw new Fault(400, "MissingAuthenticationTokenException", "Missing Authentication Token");
      }
      const input = parseObject(await readBody(request));
      keyId = typeof input.KeyId === "string" ? input.KeyId : undefined;
      if (!isOperation(operation)) {
        throw new Fault(400, "UnknownOperationException", `unknown target ${String(target)}`);
      }
      const fault =
        (keyId === undefined ? undefined : faults.get(`${operation} ${keyIdOf(keyId)}`)?.shift()) ??
        faults.get(`${operation} *`)?.shift();
      if (fault) throw new Fault(fault.status, fault.type, fault.message ?? fault.type);
      return { status: 200, body: operations[operation](input), record: record(200) };
    } catch (error) {
      if (!(error instanceof Fault)) throw error;
      return {
        status: error.status,
        body: { __type: error.type, message: error.message },
        record: record(error.status, error.type),
      };
    }
    function record(status: number, errorType?: string): KmsCall {
      return { operation, keyId, status, errorType };
    }
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    handle(request).then(
      ({ status, body, record }) => {
        calls.push(record);
        response.writeHead(status, {
          "content-type": "application/x-amz-json-1.1",
          "x-amzn-requestid": randomUUID(),
        });
        response.end(JSON.stringify(body));
      },
      (error: unknown) => {
        calls.push({ operation: "?", keyId: undefined, status: 500, errorType: "InternalFailure" });
        response.writeHead(500, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify({ __type: "InternalFailure", message: String(error) }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint,
    region,
    client: (config = {}) =>
      new KMSClient({
        endpoint,
        region,
        credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
        maxAttempts: 1,
        ...config,
      }),
    addKey(keyOptions = {}) {
      const key = addKey(keyOptions.keySpec ?? "ECC_SECG_P256K1", keyOptions.privateKey);
      return {
        keyId: key.id,
        arn: key.arn,
        address: key.signingKey && computeAddress(key.signingKey.publicKey),
      };
    },
    disableKey(keyId) {
      requireKey(keys, keyId).enabled = false;
    },
    denyAccess(keyId) {
      requireKey(keys, keyId).denied = true;
    },
    failNext(operation, scheduled, { keyId } = {}) {
      const slot = `${operation} ${keyId === undefined ? "*" : keyIdOf(keyId)}`;
      faults.set(slot, [...(faults.get(slot) ?? []), ...scheduled]);
    },
    calls,
    signatures,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        // The SDK keeps connections alive; close() alone would wait for them to idle out.
        server.closeAllConnections();
      }),
  };
}

/** `SEQUENCE { INTEGER r, INTEGER s }`, each integer minimal and positive (a 0x00 before a high bit). */
export function encodeDerSignature(r: bigint, s: bigint): Buffer {
  const integer = (value: bigint) => {
    const hex = value.toString(16);
    const bytes = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, "hex");
    const positive = (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
    return Buffer.concat([Buffer.from([0x02, positive.length]), positive]);
  };
  const body = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function usage(spec: KmsKeySpec): string {
  return spec === "SYMMETRIC_DEFAULT" ? "ENCRYPT_DECRYPT" : "SIGN_VERIFY";
}

function isOperation(name: string): name is KmsOperation {
  return (KMS_OPERATIONS as readonly string[]).includes(name);
}

function requireKey(keys: Map<string, Key>, keyId: string): Key {
  const key = keys.get(keyId);
  if (!key) throw new Error(`the test KMS has no key ${keyId}`);
  return key;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Fault(413, "ValidationException", "request too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text === "" ? "{}" : text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Answered below, as KMS answers a body it cannot read.
  }
  throw new Fault(400, "SerializationException", "the request body is not a JSON object");
}
