/**
 * Broker credentials at rest: AES-256-GCM with a random 96-bit nonce, bound to the account id as associated
 * data so a sealed blob copied onto another account row does not open. Layout: version(1) nonce(12) tag(16)
 * ciphertext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = 1;

export class CredentialSealer {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError("credentials key must be 32 bytes");
  }

  seal(accountId: string, credentials: Record<string, unknown>): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(Buffer.from(accountId));
    const body = Buffer.concat([cipher.update(JSON.stringify(credentials), "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
  }

  open(accountId: string, sealed: Buffer): Record<string, unknown> {
    if (sealed.length < 29 || sealed[0] !== VERSION) throw new Error("unknown credentials format");
    const decipher = createDecipheriv("aes-256-gcm", this.key, sealed.subarray(1, 13));
    decipher.setAAD(Buffer.from(accountId));
    decipher.setAuthTag(sealed.subarray(13, 29));
    const text = Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString("utf8");
    return JSON.parse(text) as Record<string, unknown>;
  }
}
