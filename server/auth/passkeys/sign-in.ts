import { findPasskeyByCredentialId } from "../../../db/passkeys.ts";
import { findUserById, type UserRow } from "../../../db/users.ts";
import type { Context } from "../../context.ts";
import { AppError } from "../../errors/api-errors.ts";
import { mayAuthenticate } from "../authenticate.ts";
import { guardPasskeyLogin } from "../login-guard.ts";
import { discardSignInChallenge, verifyDiscoverableAssertion } from "./assertion.ts";
import type { TAuthenticationResponse } from "./response-schema.ts";

/**
 * Signs in with a passkey alone: the user whose passkey answered the sign-in challenge, if they
 * may sign in. Refused like a wrong password (401 INVALID_CREDENTIALS, one body for every reason),
 * and counted against the owner's login lock from this address; a locked address spends the
 * challenge without checking the assertion.
 */
export async function signInWithPasskey(
  ctx: Context,
  response: TAuthenticationResponse,
): Promise<UserRow> {
  const passkey = await findPasskeyByCredentialId(ctx.db, response.id);
  const owner = passkey && (await findUserById(ctx.db, passkey.user_id));
  const guard = await guardPasskeyLogin(ctx, owner?.email);
  const verified =
    guard.locked || !owner || !mayAuthenticate(owner.status)
      ? await discardSignInChallenge(ctx.db, response)
      : await verifyDiscoverableAssertion(ctx.db, ctx.config, response);
  if (!owner || !verified || verified.userId !== owner.id) {
    await guard.failed();
    throw new AppError("INVALID_CREDENTIALS", "The passkey was not accepted");
  }
  await guard.succeeded();
  return owner;
}
