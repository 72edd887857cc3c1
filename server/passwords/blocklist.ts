import { createRequire } from "node:module";
import { dictionary } from "@zxcvbn-ts/language-common";

// The strength worker is the only importer: building the set costs tens of milliseconds and a few
// megabytes, which must never land on the main thread.

const require = createRequire(import.meta.url);

/** Mozilla's 50,000 most common passwords of 8+ characters, front-coded (`<shared prefix length, base 36><suffix>` per line). */
function fxaCommonPasswords(): string[] {
  const encoded = require("fxa-common-password-list/src/encoded-passwords.js") as string;
  const words: string[] = [];
  let previous = "";
  for (const line of encoded.split("\n")) {
    const shared = Number.parseInt(line.charAt(0), 36);
    if (Number.isNaN(shared)) continue;
    previous = previous.slice(0, shared) + line.slice(1);
    words.push(previous);
  }
  return words;
}

/** The 30,000 passwords that zxcvbn 4.4 ranks (shared with the zxcvbn instance in this thread). */
function zxcvbnPasswords(): string[] {
  return (require("zxcvbn/lib/frequency_lists.js") as { passwords: string[] }).passwords;
}

/** The form both the list and the candidate take before comparison. */
export const blocklistKey = (password: string): string => password.normalize("NFKC").toLowerCase();

let blocklist: Set<string> | undefined;

/**
 * The merged common-password blocklist (zxcvbn-ts common ~49k, zxcvbn 30k, Firefox Accounts 50k;
 * about 81,000 distinct entries), built on first use.
 */
export function getBlocklist(): ReadonlySet<string> {
  if (!blocklist) {
    const set = new Set<string>();
    for (const list of [dictionary["passwords-common"], zxcvbnPasswords(), fxaCommonPasswords()]) {
      for (const word of list) {
        // Almost all entries are lower-case ASCII; only the rest pay for normalisation.
        set.add(/^[\x20-\x40\x5b-\x7e]*$/.test(word) ? word : blocklistKey(word));
      }
    }
    blocklist = set;
  }
  return blocklist;
}

/** Case-insensitive membership; `password` is expected NFKC-normalised already. */
export const isBlocklisted = (password: string): boolean =>
  getBlocklist().has(password.toLowerCase());
