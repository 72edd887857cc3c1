import { takenUserKey, type UserKey } from "../../db/users.ts";
import { type ApiErrorCode, AppError } from "../errors/api-errors.ts";

const TAKEN = {
  email: { code: "EMAIL_TAKEN", message: "That email is already in use" },
  username: { code: "USERNAME_TAKEN", message: "That username is already in use" },
} as const satisfies Record<UserKey, { code: ApiErrorCode; message: string }>;

/** The contract's 409 for an email or username that another account holds. */
export const takenError = (key: UserKey, cause?: unknown): AppError =>
  new AppError(TAKEN[key].code, TAKEN[key].message, { cause });

/**
 * Runs a write to users (insert, update, restore) and turns a uniqueness race, which the unique
 * indexes settle after any earlier lookup, into the same 409.
 */
export async function refuseTaken<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    const key = takenUserKey(error);
    throw key ? takenError(key, error) : error;
  }
}
