import { describe, expect, it } from "vitest";
import {
  createPasswordHasher,
  isVerifiableHash,
  needsRehash,
} from "../../server/passwords/hash.ts";
import { FOREIGN_FORMATS, foreignHash } from "../porting/hash-fixtures.ts";

const PASSWORD = "imported horse battery staple";
const hasher = createPasswordHasher();

describe("hashes made elsewhere", () => {
  it.each(FOREIGN_FORMATS)(
    "verifies a %s hash made by hash-wasm, and wants a rehash",
    async (format) => {
      const encoded = await foreignHash(format, PASSWORD);
      expect(isVerifiableHash(encoded)).toBe(true);
      await expect(hasher.verify(encoded, PASSWORD)).resolves.toBe(true);
      await expect(hasher.verify(encoded, `${PASSWORD}!`)).resolves.toBe(false);
      expect(needsRehash(encoded)).toBe(true);
    },
  );

  it("accepts passlib's forms of scrypt and PBKDF2 (`.` for `+`, rounds without `i=`)", async () => {
    const phc = await foreignHash("pbkdf2-sha256", PASSWORD);
    const passlib = phc.replace("$i=1000$", "$1000$").replaceAll("+", ".");
    await expect(hasher.verify(passlib, PASSWORD)).resolves.toBe(true);
  });

  it.each([
    ["bcrypt cost 13", "$2b$13$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"],
    ["scrypt ln=20", "$scrypt$ln=20,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"],
    ["scrypt p=9", "$scrypt$ln=10,r=8,p=9$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"],
    ["pbkdf2 2M rounds", "$pbkdf2-sha256$i=2000000$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"],
    ["pbkdf2 short salt", "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2g"],
    ["argon2d", "$argon2d$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"],
    ["md5-crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"],
    ["sha1 pbkdf2", "$pbkdf2$i=1000$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"],
  ])("refuses %s (too costly or unknown) without running it", async (_name, encoded) => {
    expect(isVerifiableHash(encoded)).toBe(false);
    const started = performance.now();
    await expect(hasher.verify(encoded, PASSWORD)).resolves.toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
