// The console's one connection to the service: a session whose refresh token is an HttpOnly
// cookie (server/http/console/session.ts) and the typed tRPC client of the package's client
// entry, so every call is checked against AppRouter at compile time.

import { TRPCClientError } from "@trpc/client";
import {
  type AppRouter,
  createSession,
  createTrpcClient,
  type TokenPair,
} from "../../routers/client/index.ts";

const AUTH = "/admin/auth";

/** A failure as the console shows it: the contract's code and message. */
export type Failure = {
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
  retryAfter?: number;
};

/** The access token only: the refresh token never reaches script (it is the cookie). */
type ConsoleTokens = Omit<TokenPair, "refreshToken">;
const asPair = (tokens: ConsoleTokens): TokenPair => ({ ...tokens, refreshToken: "" });

/** A POST of JSON to the service; its answer or its contract error as a Failure. */
async function postTo<T>(url: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
    });
  } catch {
    throw { code: "NETWORK_ERROR", message: "The service cannot be reached" } satisfies Failure;
  }
  const answer = (await response.json().catch(() => undefined)) as T | Failure | undefined;
  if (response.ok) return answer as T;
  const failure = answer as Failure | undefined;
  throw {
    code: failure?.code ?? `HTTP_${response.status}`,
    message: failure?.message ?? response.statusText,
    ...(failure?.issues && { issues: failure.issues }),
  } satisfies Failure;
}

/** A POST to the cookie door. */
const post = <T>(path: string, body?: unknown) => postTo<T>(`${AUTH}/${path}`, body);

/** Told when the session ends by itself (its refresh was refused), to show the sign-in form. */
let onEnded: (() => void) | undefined;
export const whenSessionEnds = (listener: () => void) => {
  onEnded = listener;
};

export const session = createSession({
  baseUrl: location.origin,
  onTokens: (tokens) => {
    if (tokens === undefined) onEnded?.();
  },
  // Refreshed with the cookie; a refused cookie ends the session (the door clears it).
  refresh: async () => {
    try {
      return asPair(await post<ConsoleTokens>("refresh"));
    } catch (error) {
      if ((error as Failure).code === "UNAUTHENTICATED") return undefined;
      throw error;
    }
  },
});

export const trpc = createTrpcClient(session);

export type Me = Awaited<ReturnType<typeof trpc.users.me.query>>;
export type User = Awaited<ReturnType<typeof trpc.users.get.query>>;

/** The first step's answer for an account with a second factor: no session yet. */
export type SecondFactorChallenge = {
  secondFactorRequired: true;
  challenge: string;
  factors: string[];
  expiresIn: number;
};

/** The kinds of factor the console takes a typed code for. */
export const CODE_FACTORS = ["totp", "recovery_code"] as const;
export type CodeFactor = (typeof CODE_FACTORS)[number];

/**
 * Signs in with the cookie door; the role is checked there (Admin and AppAdmin only). An account
 * with a second factor gets its challenge back instead, for `completeSignIn`.
 */
export async function signIn(
  email: string,
  password: string,
): Promise<{ me: Me } | { challenge: SecondFactorChallenge }> {
  const answer = await post<ConsoleTokens | SecondFactorChallenge>("token", { email, password });
  if ("challenge" in answer) return { challenge: answer };
  session.use(asPair(answer));
  return { me: await trpc.users.me.query() };
}

/** The second step: the challenge and a code of the account's factor open the session. */
export async function completeSignIn(
  challenge: string,
  factor: CodeFactor,
  code: string,
): Promise<Me> {
  session.use(asPair(await post<ConsoleTokens>("second-factor", { challenge, factor, code })));
  return trpc.users.me.query();
}

/** What this file uses of WebAuthn's JSON helpers (newer than the DOM types it is built with). */
type WebAuthnJson = {
  parseRequestOptionsFromJSON?: (options: unknown) => PublicKeyCredentialRequestOptions;
};

/**
 * The second step with a passkey: request options for the challenge's user, the browser's own
 * dialog, then the assertion opens the session.
 */
export async function completeSignInWithPasskey(challenge: string): Promise<Me> {
  const parse =
    typeof PublicKeyCredential === "undefined"
      ? undefined
      : (PublicKeyCredential as unknown as WebAuthnJson).parseRequestOptionsFromJSON;
  if (!parse) {
    throw { code: "PASSKEY_UNSUPPORTED", message: "This browser cannot use passkeys" };
  }
  const options = await postTo("/api/auth/token/second-factor/passkey-options", { challenge });
  let credential: Credential | null;
  try {
    credential = await navigator.credentials.get({ publicKey: parse(options) });
  } catch {
    credential = null;
  }
  if (!credential) {
    throw {
      code: "PASSKEY_CANCELLED",
      message: "No passkey was used: the request was cancelled or timed out",
    } satisfies Failure;
  }
  const webauthn = (credential as unknown as { toJSON: () => unknown }).toJSON();
  session.use(
    asPair(await post<ConsoleTokens>("second-factor", { challenge, factor: "passkey", webauthn })),
  );
  return trpc.users.me.query();
}

/** Resumes from the cookie (a reload): the signed-in user, or undefined. */
export async function resume(): Promise<Me | undefined> {
  try {
    session.use(asPair(await post<ConsoleTokens>("refresh")));
  } catch {
    return undefined;
  }
  return trpc.users.me.query();
}

/** Ends the session on the server (the cookie is cleared), then forgets the access token. */
export async function signOut(): Promise<void> {
  try {
    await post("logout");
  } finally {
    session.use(undefined);
  }
}

/** Anything a call threw, as the contract's code and message. */
export function failureOf(error: unknown): Failure {
  if (error instanceof TRPCClientError) {
    const data = (error as TRPCClientError<AppRouter>).data;
    return {
      code: data?.code ?? "NETWORK_ERROR",
      message: data ? error.message : "The service cannot be reached",
      ...(data?.issues && { issues: data.issues }),
      ...(data?.retryAfter !== undefined && { retryAfter: data.retryAfter }),
    };
  }
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    return error as Failure;
  }
  return { code: "CONSOLE_ERROR", message: String(error) };
}
