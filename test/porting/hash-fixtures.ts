import { randomBytes } from "node:crypto";
import { argon2i, argon2id, bcrypt, createSHA256, pbkdf2, scrypt } from "hash-wasm";

// Password hashes made by an independent library (hash-wasm), in the forms an import accepts
// (README, "Importing users"): what another service would hand over.

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");

export const FOREIGN_FORMATS = [
  "bcrypt",
  "argon2i",
  "argon2id",
  "scrypt",
  "pbkdf2-sha256",
] as const;
export type ForeignFormat = (typeof FOREIGN_FORMATS)[number];

export async function foreignHash(format: ForeignFormat, password: string): Promise<string> {
  const salt = randomBytes(16);
  switch (format) {
    case "bcrypt":
      return bcrypt({ password, salt, costFactor: 5, outputType: "encoded" });
    case "argon2i":
    case "argon2id": {
      const make = format === "argon2i" ? argon2i : argon2id;
      // Weaker than the service's parameters, as an old service's hashes may be.
      return make({
        password,
        salt,
        iterations: 1,
        parallelism: 1,
        memorySize: 1024,
        hashLength: 32,
        outputType: "encoded",
      });
    }
    case "scrypt": {
      const hash = await scrypt({
        password,
        salt,
        costFactor: 2 ** 10,
        blockSize: 8,
        parallelism: 1,
        hashLength: 32,
        outputType: "binary",
      });
      return `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(hash)}`;
    }
    case "pbkdf2-sha256": {
      const hash = await pbkdf2({
        password,
        salt,
        iterations: 1000,
        hashLength: 32,
        hashFunction: createSHA256(),
        outputType: "binary",
      });
      return `$pbkdf2-sha256$i=1000$${b64(salt)}$${b64(hash)}`;
    }
  }
}
