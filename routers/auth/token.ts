import { z } from "zod";
import { findCredentials, updateUser } from "../../db/users.ts";
import { mayAuthenticate } from "../../server/auth/authenticate.ts";
import { guardLogin } from "../../server/auth/login-guard.ts";
import { listFactorKinds } from "../../server/auth/second-factor/registry.ts";
import { issueSignInChallenge } from "../../server/auth/second-factor/sign-in-challenge.ts";
import { startEnrolmentSession, startSession } from "../../server/auth/sessions.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { needsRehash } from "../../server/passwords/hash.ts";
import { isAdmin } from "../../server/permissions/permissions.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { ZEmail, ZPassword } from "../shared-schema.ts";
import { ZSignInResult } from "./second-factor-schema.ts";

// The example is a demo account of `npm run db:seed`, so "Try it out" in /docs logs in as is.
export const ZTokenInput = z
  .strictObject({ email: ZEmail, password: ZPassword })
  .meta({ examples: [{ email: "alice@example.com", password: "demo-lantern-orchard-4821" }] });

const invalidCredentials = () =>
  new AppError("INVALID_CREDENTIALS", "The email or password is incorrect");

export const tokenRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/token",
      tags: ["auth"],
      summary:
        "Log in: a token pair; or, for a user with a second factor, a challenge for POST /auth/token/second-factor",
      protect: false,
    },
    errors: ["INVALID_CREDENTIALS", "RATE_LIMITED"],
  })
  .input(ZTokenInput)
  .output(ZSignInResult)
  .mutation(async ({ ctx, input }) => {
    const guard = await guardLogin(ctx, input.email);
    const password = input.password.normalize("NFKC");
    const user = await findCredentials(ctx.db, { email: input.email });
    // Unknown, suspended, password-less and locked accounts cost one verify too, and answer the
    // same as a wrong password: neither timing nor body tells them apart.
    if (guard.locked || !user?.password_hash || !mayAuthenticate(user.status)) {
      await ctx.hashing.verifyAgainstDummy(password);
      await guard.failed();
      throw invalidCredentials();
    }
    if (!(await ctx.hashing.verify(user.password_hash, password))) {
      await guard.failed();
      throw invalidCredentials();
    }
    const factors = await listFactorKinds(ctx.db, user.id);
    // Half a sign-in clears no failures: else a guesser holding the password would wipe the
    // address's count of wrong codes with each new challenge.
    await (factors.length > 0 ? guard.released() : guard.succeeded());
    if (needsRehash(user.password_hash)) {
      await updateUser(ctx.db, user.id, { password_hash: await ctx.hashing.hash(password) });
    }
    if (factors.length > 0) return issueSignInChallenge(ctx, user.id, factors);
    if (ctx.config.REQUIRE_SECOND_FACTOR_FOR_ADMINS === "on" && isAdmin(user)) {
      return {
        secondFactorEnrolmentRequired: true as const,
        ...(await startEnrolmentSession(ctx, user)),
      };
    }
    return startSession(ctx, user);
  });
