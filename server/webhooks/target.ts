import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { isForbiddenAddress } from "./addresses.ts";

export type TargetPolicy = {
  /** https only (NODE_ENV=production). */
  httpsOnly: boolean;
  /** WEBHOOKS_ALLOW_PRIVATE=on: loopback and private addresses allowed (tests, private networks). */
  allowPrivate: boolean;
};

/** A URL or address a webhook may not use; the message says why (no secret in it). */
export class ForbiddenTargetError extends Error {}

/** The URL's host as an IP literal (brackets off), or undefined when it is a name. */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return isIP(host) ? host : undefined;
}

/** The parsed URL when its form is allowed (scheme, no credentials, no fragment). */
export function parseTargetUrl(text: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ForbiddenTargetError("Not a URL");
  }
  if (url.protocol !== "https:" && (policy.httpsOnly || url.protocol !== "http:")) {
    throw new ForbiddenTargetError(
      policy.httpsOnly ? "Must be an https URL" : "Must be an http(s) URL",
    );
  }
  if (url.username || url.password) throw new ForbiddenTargetError("Must not hold credentials");
  if (url.hash) throw new ForbiddenTargetError("Must not have a fragment");
  return url;
}

/**
 * The address to connect to for `url`: its IP literal, or the name resolved now. Every address
 * the name resolves to must be allowed (a name that also points inside is refused), and the
 * caller connects to the one returned, never resolving again, so a DNS answer that changes in
 * between (rebinding) cannot move the request inside.
 */
export async function resolveTarget(
  url: URL,
  policy: TargetPolicy,
): Promise<{ address: string; family: 4 | 6 }> {
  const literal = literalAddress(url);
  const answers = literal
    ? [{ address: literal, family: isIP(literal) as 4 | 6 }]
    : await lookup(url.hostname, { all: true, verbatim: true }).catch(() => {
        throw new ForbiddenTargetError(`The host ${url.hostname} does not resolve`);
      });
  const first = answers[0];
  if (!first) throw new ForbiddenTargetError(`The host ${url.hostname} does not resolve`);
  if (!policy.allowPrivate) {
    const forbidden = answers.find((answer) => isForbiddenAddress(answer.address));
    if (forbidden) {
      throw new ForbiddenTargetError(
        `${url.hostname} resolves to ${forbidden.address}, a loopback, private, link-local or otherwise reserved address`,
      );
    }
  }
  return { address: first.address, family: first.family as 4 | 6 };
}

/**
 * The registration's check: the form, and where the name points now (it is checked again at
 * each delivery). A name that does not resolve yet is accepted; its deliveries fail until it does.
 */
export async function checkTargetUrl(text: string, policy: TargetPolicy): Promise<URL> {
  const url = parseTargetUrl(text, policy);
  try {
    await resolveTarget(url, policy);
  } catch (error) {
    if (error instanceof ForbiddenTargetError && /does not resolve$/.test(error.message))
      return url;
    throw error;
  }
  return url;
}
