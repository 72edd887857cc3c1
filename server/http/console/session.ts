import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { createCaller } from "../../../routers/router.ts";
import type { TokenPair } from "../../auth/sessions.ts";
import { createContext, type Deps } from "../../context.ts";
import { AppError } from "../../errors/api-errors.ts";
import { requestInfo } from "../rest.ts";
import { CONSOLE_PATH } from "./serve.ts";

// The admin console's sign-in. A browser must never hold a refresh token where a script can read
// it: here it lives in an HttpOnly, SameSite=Strict cookie sent only to these paths, and
// the page keeps the access token in memory. The work is the auth procedures' own (called as
// they are through the doors); this door only moves the refresh token between body and cookie.

/** The paths the cookie is scoped to (and sent with). */
export const CONSOLE_AUTH_PATH = `${CONSOLE_PATH}/auth`;
export const CONSOLE_COOKIE = "console_refresh";

/** Who may use the console. */
const CONSOLE_ROLES = new Set(["Admin", "AppAdmin"]);

/** What the console is given: the access token only (the refresh token goes into the cookie). */
export const ZConsoleTokens = z.object({
  accessToken: z.string(),
  tokenType: z.literal("Bearer"),
  expiresIn: z.number().int(),
});

/** The refresh token in the request's cookie header, if any (base64url: nothing to decode). */
function refreshCookie(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CONSOLE_COOKIE) return value.join("=") || undefined;
  }
  return undefined;
}

function setCookie(reply: FastifyReply, deps: Deps, value: string, maxAge: number): void {
  const secure = deps.config.PUBLIC_URL.startsWith("https:") ? "; Secure" : "";
  reply.header(
    "set-cookie",
    `${CONSOLE_COOKIE}=${value}; Path=${CONSOLE_AUTH_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`,
  );
}

const clearCookie = (reply: FastifyReply, deps: Deps) => setCookie(reply, deps, "", 0);

/**
 * A cookie goes with every request to its path, whoever's page sent it: each of these requests
 * must come from the service's own origin (PUBLIC_URL). A missing Origin is refused too.
 */
function requireOwnOrigin(req: FastifyRequest, deps: Deps): void {
  if (req.headers.origin !== new URL(deps.config.PUBLIC_URL).origin) {
    throw new AppError("UNAUTHORIZED", "This request must come from the console's own origin");
  }
}

/** Answers a token pair: its refresh token into the cookie, the rest into the body. */
function answerTokens(
  reply: FastifyReply,
  deps: Deps,
  pair: { accessToken: string; expiresIn: number; refreshToken: string },
) {
  setCookie(reply, deps, pair.refreshToken, deps.config.REFRESH_TOKEN_TTL);
  reply.header("cache-control", "no-store");
  return ZConsoleTokens.parse({ ...pair, tokenType: "Bearer" });
}

/**
 * `POST /admin/auth/token` (sign in: email and password), `/admin/auth/refresh` (a new access
 * token for the cookie's refresh token, which is rotated) and `/admin/auth/logout` (ends the
 * session and clears the cookie). Errors are the contract's REST errors.
 */
export function registerConsoleSession(app: FastifyInstance, deps: Deps): void {
  const callerOf = (req: FastifyRequest, authorization?: string) =>
    createCaller(
      createContext(deps, { ...requestInfo(req), ...(authorization && { authorization }) }),
    );

  /** Only Admin and AppAdmin get a console session; anyone else's new session ends at once. */
  const openSession = async (req: FastifyRequest, reply: FastifyReply, pair: TokenPair) => {
    const me = await callerOf(req, `Bearer ${pair.accessToken}`).users.me();
    if (!CONSOLE_ROLES.has(me.role)) {
      await callerOf(req).auth.logout({ refreshToken: pair.refreshToken });
      throw new AppError(
        "UNAUTHORIZED",
        "The admin console is only for Admin and AppAdmin accounts",
      );
    }
    return answerTokens(reply, deps, pair);
  };

  app.post(`${CONSOLE_AUTH_PATH}/token`, async (req, reply) => {
    requireOwnOrigin(req, deps);
    const body = (req.body ?? {}) as Parameters<ReturnType<typeof callerOf>["auth"]["token"]>[0];
    const answer = await callerOf(req).auth.token(body);
    if ("refreshToken" in answer) return openSession(req, reply, answer);
    if ("challenge" in answer) {
      // A second factor is due: the challenge goes back to the page, no cookie yet.
      reply.header("cache-control", "no-store");
      return answer;
    }
    throw new AppError(
      "SECOND_FACTOR_ENROLMENT_REQUIRED",
      "Enrol a second factor (POST /api/users/me/factors/totp) before using the console",
    );
  });

  app.post(`${CONSOLE_AUTH_PATH}/second-factor`, async (req, reply) => {
    requireOwnOrigin(req, deps);
    const body = (req.body ?? {}) as Parameters<
      ReturnType<typeof callerOf>["auth"]["secondFactor"]
    >[0];
    return openSession(req, reply, await callerOf(req).auth.secondFactor(body));
  });

  app.post(`${CONSOLE_AUTH_PATH}/refresh`, async (req, reply) => {
    requireOwnOrigin(req, deps);
    const refreshToken = refreshCookie(req);
    if (!refreshToken) throw new AppError("UNAUTHENTICATED", "Not signed in to the console");
    try {
      return answerTokens(reply, deps, await callerOf(req).auth.refresh({ refreshToken }));
    } catch (error) {
      clearCookie(reply, deps);
      throw error;
    }
  });

  app.post(`${CONSOLE_AUTH_PATH}/logout`, async (req, reply) => {
    requireOwnOrigin(req, deps);
    const refreshToken = refreshCookie(req);
    if (refreshToken) await callerOf(req).auth.logout({ refreshToken });
    clearCookie(reply, deps);
    return { success: true as const };
  });
}
