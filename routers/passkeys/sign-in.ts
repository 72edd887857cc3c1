import { z } from "zod";
import { signInWithPasskey, ZAuthenticationResponse } from "../../server/auth/passkeys/index.ts";
import { startSession } from "../../server/auth/sessions.ts";
import { publicProcedure } from "../../server/trpc.ts";
import { ZTokenPair } from "../auth/token-schema.ts";

export const passkeySignInRoute = publicProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/auth/passkey/token",
      tags: ["auth"],
      summary: "Sign in with a passkey alone",
      description:
        "The assertion must answer a challenge from `POST /api/auth/passkey/options`. A refusal answers like a wrong password and counts against the account's login lock from this address.",
      protect: false,
    },
    errors: ["INVALID_CREDENTIALS", "RATE_LIMITED"],
  })
  .input(z.strictObject({ webauthn: ZAuthenticationResponse }))
  .output(ZTokenPair)
  .mutation(async ({ ctx, input }) =>
    startSession(ctx, await signInWithPasskey(ctx, input.webauthn)),
  );
