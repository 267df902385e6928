/**
 * From what KMS returns to what Ethereum accepts, as pure functions: the address in a
 * SubjectPublicKeyInfo, (r, s) out of a DER ECDSA signature, s made low, and the recovery id.
 *
 * KMS signs with plain ECDSA, so about half its signatures have s > n/2. Ethereum has accepted
 * only the low twin (n − s, the same signature of the same key) since Homestead (EIP-2), and
 * ethers refuses to hold a high s, so every signature is normalised before its recovery id is
 * found: flipping s flips the parity of the point, hence recovering with both parities afterwards.
 */
import { computeAddress, getAddress, hexlify, recoverAddress, Signature, toBeHex } from "ethers";
import { SIGNER_ERROR_CODES, signerError } from "./signer";

/** The order of secp256k1's group. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N / 2n;

/**
 * The DER SubjectPublicKeyInfo header of every secp256k1 key: SEQUENCE { SEQUENCE { OID
 * id-ecPublicKey, OID secp256k1 }, BIT STRING (66 bytes, no unused bits) }. Comparing the whole
 * header checks the curve too, not only the length.
 */
const SPKI_SECP256K1_PREFIX = Uint8Array.from(Buffer.from("3056301006072a8648ce3d020106052b8104000a034200", "hex"));
const UNCOMPRESSED_KEY_BYTES = 65;

const badResponse = (message: string) => signerError(SIGNER_ERROR_CODES.kmsBadResponse, message);

/** The checksummed address of a secp256k1 SubjectPublicKeyInfo, or undefined for any other key. */
export function addressFromSpki(spki: Uint8Array): string | undefined {
  if (spki.length !== SPKI_SECP256K1_PREFIX.length + UNCOMPRESSED_KEY_BYTES) return undefined;
  if (!SPKI_SECP256K1_PREFIX.every((byte, index) => spki[index] === byte)) return undefined;
  const key = spki.subarray(SPKI_SECP256K1_PREFIX.length);
  if (key[0] !== 0x04) return undefined;
  try {
    // computeAddress parses the point, so a key off the curve is refused here too.
    return getAddress(computeAddress(hexlify(key)));
  } catch {
    return undefined;
  }
}

/**
 * Reads `SEQUENCE { INTEGER r, INTEGER s }`. Strict DER: short-form lengths (a secp256k1
 * signature is at most 72 bytes), positive minimally encoded integers, nothing after the end,
 * and 1 ≤ r, s < n.
 */
export function decodeDerSignature(der: Uint8Array): { r: bigint; s: bigint } {
  let offset = 0;
  const byte = () => {
    const value = der[offset];
    if (value === undefined) throw badResponse("KMS signature: truncated DER");
    offset += 1;
    return value;
  };
  const integer = () => {
    if (byte() !== 0x02) throw badResponse("KMS signature: expected a DER INTEGER");
    const length = byte();
    if (length === 0 || length > 33 || offset + length > der.length) {
      throw badResponse("KMS signature: bad INTEGER length");
    }
    const bytes = der.subarray(offset, offset + length);
    offset += length;
    const [first = 0, second = 0] = bytes;
    if (first & 0x80) throw badResponse("KMS signature: negative INTEGER");
    if (first === 0 && length > 1 && !(second & 0x80)) throw badResponse("KMS signature: INTEGER not minimal");
    const value = BigInt(hexlify(bytes));
    if (value === 0n || value >= SECP256K1_N) throw badResponse("KMS signature: r or s out of range");
    return value;
  };
  if (byte() !== 0x30) throw badResponse("KMS signature: expected a DER SEQUENCE");
  const length = byte();
  if (length & 0x80 || offset + length !== der.length) throw badResponse("KMS signature: bad SEQUENCE length");
  const r = integer();
  const s = integer();
  if (offset !== der.length) throw badResponse("KMS signature: bytes after the SEQUENCE");
  return { r, s };
}

/** The low-s twin of a signature's s: n − s when s > n/2. */
export function normaliseS(s: bigint): bigint {
  return s > HALF_N ? SECP256K1_N - s : s;
}

/**
 * The signature of `digest` with a low s and the recovery id under which it recovers to
 * `address`. Throws when neither parity does: the signature is not this key's.
 */
export function toEthereumSignature(digest: string, r: bigint, s: bigint, address: string): Signature {
  const low = normaliseS(s);
  for (const yParity of [0, 1] as const) {
    const candidate = Signature.from({ r: toBeHex(r, 32), s: toBeHex(low, 32), yParity });
    if (recovers(digest, candidate, address)) return candidate;
  }
  throw badResponse(`KMS signature does not recover to ${address}`);
}

function recovers(digest: string, signature: Signature, address: string): boolean {
  try {
    return recoverAddress(digest, signature) === address;
  } catch {
    // An r that is no point's x coordinate recovers nothing under either parity.
    return false;
  }
}
