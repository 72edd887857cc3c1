import type { Config } from "../../config.ts";

/** How long a ceremony's challenge stays usable (and the browser's timeout for it). */
export const CHALLENGE_TTL_SECONDS = 300;

/** At most this many passkeys per user. */
export const MAX_PASSKEYS_PER_USER = 20;

export type RelyingParty = { id: string; name: string; origins: string[] };

/**
 * The relying party from the settings: its id (WEBAUTHN_RP_ID, APP_URL's host by default), and
 * the origins a ceremony may come from: the app's (APP_URL) and the service's own pages
 * (PUBLIC_URL), never anything taken from a request.
 */
export function relyingParty(
  config: Pick<Config, "APP_URL" | "PUBLIC_URL" | "WEBAUTHN_RP_ID" | "WEBAUTHN_RP_NAME">,
): RelyingParty {
  const origins = [
    ...new Set([config.APP_URL, config.PUBLIC_URL].map((url) => new URL(url).origin)),
  ];
  const id = config.WEBAUTHN_RP_ID;
  return {
    id,
    name: config.WEBAUTHN_RP_NAME,
    // An origin outside the RP id's domain could never produce a valid ceremony.
    origins: origins.filter((origin) => {
      const host = new URL(origin).hostname;
      return host === id || host.endsWith(`.${id}`);
    }),
  };
}
