import createClient from "openapi-fetch";
import type { components, paths } from "../../scripts/generated/openapi-types.ts";

export type TokenPair = components["schemas"]["TokenPair"];

/**
 * Whether a sign-in's answer (`auth.token`, `POST /api/auth/token`) is the token pair, rather
 * than a second-factor challenge (`secondFactorRequired`) or an enrolment-only token
 * (`secondFactorEnrolmentRequired`).
 */
export const isTokenPair = (answer: object): answer is TokenPair => "refreshToken" in answer;

/** What the clients send through: the global `fetch` unless told otherwise. */
export type Fetch = typeof fetch;

export type SessionOptions = {
  /** Where the service listens, e.g. `http://localhost:3000`: REST under `/api`, tRPC under `/trpc`. */
  baseUrl: string;
  /** A pair stored earlier, to resume with. */
  tokens?: TokenPair;
  /** Told every new pair (after `use` and each refresh) and `undefined` when the session ends, to store it. */
  onTokens?: (tokens: TokenPair | undefined) => void;
  /** Defaults to the global `fetch`. */
  fetch?: Fetch;
  /**
   * How a spent pair is exchanged for a new one: `undefined` when the session is over. Defaults
   * to `POST /api/auth/refresh` with the pair's refresh token. The admin console's refresh token
   * is an HttpOnly cookie, so its pairs carry none and it refreshes at `/admin/auth/refresh`.
   */
  refresh?: (spent: TokenPair) => Promise<TokenPair | undefined>;
};

/** The caller's tokens, shared by the tRPC and REST clients made from it. */
export type Session = {
  readonly baseUrl: string;
  readonly fetch: Fetch;
  readonly tokens: TokenPair | undefined;
  /** Start using a pair (from `auth.token`), or forget the session with `undefined`. */
  use(tokens: TokenPair | undefined): void;
  /**
   * The access token to retry with after `staleAccessToken` was refused: calls refused together
   * share one refresh. `undefined` when the session is over (the refresh token was refused).
   */
  renew(staleAccessToken: string): Promise<string | undefined>;
};

/**
 * A session that refreshes its tokens once however many calls are refused at the same moment.
 * The service rotates refresh tokens and treats a spent one presented again as theft (revoking
 * the whole session), so refreshing once per refused call would end the session it meant to keep.
 */
export function createSession(options: SessionOptions): Session {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  // Called as a plain function: the clients reach it as `session.fetch`, and a browser's fetch
  // refuses any `this` but the window.
  const given = options.fetch ?? fetch;
  const send: Fetch = (input, init) => given(input, init);
  // The refresh goes out without the clients' bearer and retry, which exist to call it.
  const auth = createClient<paths>({ baseUrl: `${baseUrl}/api`, fetch: send });
  let tokens = options.tokens;
  let refreshing: Promise<string | undefined> | undefined;

  const use = (next: TokenPair | undefined) => {
    tokens = next;
    options.onTokens?.(next);
  };

  async function exchange(spent: TokenPair): Promise<TokenPair | undefined> {
    const { data, error, response } = await auth.POST("/auth/refresh", {
      body: { refreshToken: spent.refreshToken },
    });
    if (data) return data;
    if (response.status === 401) return undefined;
    throw new Error(`refreshing the session failed: HTTP ${response.status} ${error?.code ?? ""}`);
  }

  async function refresh(spent: TokenPair): Promise<string | undefined> {
    let next: TokenPair | undefined;
    try {
      next = await (options.refresh ? options.refresh(spent) : exchange(spent));
    } catch (error) {
      if (tokens !== spent) return tokens?.accessToken;
      throw error;
    }
    // Signed in again or out meanwhile: that newer choice stands.
    if (tokens !== spent) return tokens?.accessToken;
    use(next);
    return next?.accessToken;
  }

  return {
    baseUrl,
    fetch: send,
    get tokens() {
      return tokens;
    },
    use,
    async renew(staleAccessToken) {
      if (refreshing) return refreshing;
      if (tokens === undefined) return undefined;
      // Refreshed already for a call refused a moment earlier: retry with its result.
      if (tokens.accessToken !== staleAccessToken) return tokens.accessToken;
      refreshing = refresh(tokens).finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
  };
}
