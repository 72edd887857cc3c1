/**
 * What a username may be. The API's schema (routers/users/user-schema.ts) refuses anything else,
 * and the usernames derived from emails (accounts.ts) are built to pass it.
 */
export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const USERNAME_CHARACTERS = /^[a-z0-9._-]+$/;
/** A username holds a letter, so it is never mistaken for an id in a path (`/users/{id}`). */
export const USERNAME_LETTER = /[a-z]/;

/** Names that read as part of the API or as the service itself. */
const RESERVED_USERNAMES = new Set([
  "me",
  "profile",
  "password",
  "signup",
  "admin",
  "api",
  "auth",
  "users",
  "user",
  "root",
  "system",
  "support",
  "verification",
  "invitation",
  "sessions",
  "email",
  "null",
  "undefined",
]);

export const isReservedUsername = (name: string) => RESERVED_USERNAMES.has(name);
