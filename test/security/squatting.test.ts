import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller } from "../../routers/router.ts";
import { createContext } from "../../server/context.ts";
import { toAppError } from "../../server/errors/api-errors.ts";
import { imagePart, makeImage } from "../helpers/image-fixtures.ts";
import {
  createMailTestApp,
  eventually,
  linkIn,
  type MailTestApp,
} from "../helpers/mail-harness.ts";

/**
 * Squatting: someone signs up with another person's address (the account stays `pending`),
 * signs in, and makes the account theirs. When the address's owner resets the password from the
 * mail, the account becomes theirs: active and verified, the squatter's sessions and tokens end,
 * and what the squatter added (profile image, a pending email change to their own address) is
 * gone. The whole story, through each door.
 */
const SQUATTER_PASSWORD = "crimson-ledger-paddock-93-quiver";
const OWNER_PASSWORD = "amber-glacier-orchestra-42-tundra";

let t: MailTestApp;
let image: Buffer;

beforeAll(async () => {
  t = await createMailTestApp();
  image = await makeImage("png", 64, 64);
});
afterAll(() => t.close());

/** The newest link of this page mailed to the address (waits for the mail to be queued). */
const mailedLink = (address: string, path: string) =>
  eventually(async () => linkIn(await t.lastMailTo(address), path).token);

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };
type Tokens = { accessToken: string; refreshToken: string };

/** What each step is through one door; failures come back as the API's code. */
type Door = {
  signup(email: string): Promise<Outcome>;
  login(email: string, password: string): Promise<Outcome>;
  uploadImage(accessToken: string): Promise<Outcome>;
  changeEmail(accessToken: string, newEmail: string, currentPassword: string): Promise<Outcome>;
  requestReset(email: string): Promise<Outcome>;
  confirmReset(token: string, newPassword: string): Promise<Outcome>;
  confirmVerification(token: string): Promise<Outcome>;
  me(accessToken: string): Promise<Outcome>;
  refresh(refreshToken: string): Promise<Outcome>;
  ownImage(accessToken: string): Promise<Outcome>;
};

async function viaRest(
  method: "GET" | "POST",
  url: string,
  options: {
    payload?: object;
    accessToken?: string;
    multipart?: Awaited<ReturnType<typeof imagePart>>;
  } = {},
): Promise<Outcome> {
  const res = await t.app.inject({
    method,
    url,
    headers: {
      ...(options.accessToken && { authorization: `Bearer ${options.accessToken}` }),
      ...options.multipart?.headers,
    },
    ...(options.payload && { payload: options.payload }),
    ...(options.multipart && { payload: options.multipart.payload }),
  });
  if (res.statusCode < 300) {
    return {
      ok: true,
      value: String(res.headers["content-type"]).includes("json") ? res.json() : null,
    };
  }
  return { ok: false, code: res.json().code };
}

const rest: Door = {
  signup: (email) =>
    viaRest("POST", "/api/users/signup", {
      payload: { email, password: SQUATTER_PASSWORD, firstName: "Mallory", lastName: "Squat" },
    }),
  login: (email, password) => viaRest("POST", "/api/auth/token", { payload: { email, password } }),
  uploadImage: async (accessToken) =>
    viaRest("POST", "/api/users/profile/image", { accessToken, multipart: await imagePart(image) }),
  changeEmail: (accessToken, newEmail, currentPassword) =>
    viaRest("POST", "/api/users/me/email", { accessToken, payload: { newEmail, currentPassword } }),
  requestReset: (email) => viaRest("POST", "/api/auth/password-reset", { payload: { email } }),
  confirmReset: (token, newPassword) =>
    viaRest("POST", "/api/auth/password-reset/confirm", { payload: { token, newPassword } }),
  confirmVerification: (token) =>
    viaRest("POST", "/api/users/verification/confirm", { payload: { token } }),
  me: (accessToken) => viaRest("GET", "/api/users/me", { accessToken }),
  refresh: (refreshToken) => viaRest("POST", "/api/auth/refresh", { payload: { refreshToken } }),
  ownImage: (accessToken) => viaRest("GET", "/api/users/profile/image", { accessToken }),
};

async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, code: toAppError(error).apiCode };
  }
}

const as = (accessToken?: string) =>
  createCaller(
    createContext(t.deps, accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
  );

const trpc: Door = {
  signup: (email) =>
    outcome(() =>
      as().users.signup({
        email,
        password: SQUATTER_PASSWORD,
        firstName: "Mallory",
        lastName: "Squat",
      }),
    ),
  login: (email, password) => outcome(() => as().auth.token({ email, password })),
  uploadImage: (accessToken) =>
    outcome(() =>
      as(accessToken).images.uploadProfileImage({ imageBase64: image.toString("base64") }),
    ),
  changeEmail: (accessToken, newEmail, currentPassword) =>
    outcome(() => as(accessToken).users.changeEmail({ newEmail, currentPassword })),
  requestReset: (email) => outcome(() => as().auth.passwordReset({ email })),
  confirmReset: (token, newPassword) =>
    outcome(() => as().auth.passwordResetConfirm({ token, newPassword })),
  confirmVerification: (token) => outcome(() => as().users.confirmVerification({ token })),
  me: (accessToken) => outcome(() => as(accessToken).users.me()),
  refresh: (refreshToken) => outcome(() => as().auth.refresh({ refreshToken })),
  ownImage: (accessToken) => outcome(() => as(accessToken).images.getProfileImage()),
};

const succeeded = <T>(result: Outcome): T => {
  if (!result.ok) throw new Error(`expected success, got ${result.code}`);
  return result.value as T;
};

describe.each([
  { name: "REST", door: rest },
  { name: "tRPC", door: trpc },
])("squatting, through $name", ({ name, door }) => {
  it("a reset from the owner's mailbox takes the account back", async () => {
    const victim = `victim-${name.toLowerCase()}@mail.test`;
    const squatterMailbox = `mallory-${name.toLowerCase()}@evil.test`;

    // The squatter signs up with the victim's address, signs in, and settles in.
    const { id } = succeeded<{ id: number; status: string }>(await door.signup(victim));
    const squatter = succeeded<Tokens>(await door.login(victim, SQUATTER_PASSWORD));
    expect((await door.uploadImage(squatter.accessToken)).ok).toBe(true);
    expect(
      (await door.changeEmail(squatter.accessToken, squatterMailbox, SQUATTER_PASSWORD)).ok,
    ).toBe(true);
    const emailChange = await mailedLink(squatterMailbox, "/verify-email");
    expect(succeeded<{ status: string }>(await door.me(squatter.accessToken)).status).toBe(
      "pending",
    );

    // The owner asks for a reset and follows the link in their mail.
    expect((await door.requestReset(victim)).ok).toBe(true);
    const reset = await mailedLink(victim, "/reset-password");
    expect(await door.confirmReset(reset, OWNER_PASSWORD)).toMatchObject({ ok: true });

    const row = await t.db
      .selectFrom("users")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "active", email_verified: true, email: victim });

    // Every way the squatter had in is closed.
    expect(await door.me(squatter.accessToken)).toEqual({ ok: false, code: "UNAUTHENTICATED" });
    expect(await door.refresh(squatter.refreshToken)).toEqual({
      ok: false,
      code: "UNAUTHENTICATED",
    });
    expect(await door.login(victim, SQUATTER_PASSWORD)).toEqual({
      ok: false,
      code: "INVALID_CREDENTIALS",
    });
    expect(await door.confirmVerification(emailChange)).toEqual({ ok: false, code: "CONFLICT" });

    // The owner signs in with the new password, to an account without the squatter's image.
    const owner = succeeded<Tokens>(await door.login(victim, OWNER_PASSWORD));
    expect(
      succeeded<{ email: string; status: string }>(await door.me(owner.accessToken)),
    ).toMatchObject({ email: victim, status: "active", emailVerified: true });
    expect(await door.ownImage(owner.accessToken)).toEqual({ ok: false, code: "IMAGE_NOT_FOUND" });
    const stored = await t.db
      .selectFrom("profile_images")
      .select("user_id")
      .where("user_id", "=", id)
      .executeTakeFirst();
    expect(stored).toBeUndefined();
    expect(
      (
        await t.db
          .selectFrom("users")
          .select("email")
          .where("id", "=", id)
          .executeTakeFirstOrThrow()
      ).email,
    ).toBe(victim);
  });
});

describe("a reset on an active account", () => {
  it("keeps the owner's profile image (only a pending account is reclaimed)", async () => {
    const { user, auth } = await t.userWithToken({ email: "settled@mail.test" });
    const upload = await imagePart(image);
    const uploaded = await t.app.inject({
      method: "POST",
      url: "/api/users/profile/image",
      headers: { ...auth, ...upload.headers },
      payload: upload.payload,
    });
    expect(uploaded.statusCode).toBeLessThan(300);
    expect((await rest.requestReset(user.email)).ok).toBe(true);
    const reset = await mailedLink(user.email, "/reset-password");
    expect((await rest.confirmReset(reset, OWNER_PASSWORD)).ok).toBe(true);
    const owner = succeeded<Tokens>(await rest.login(user.email, OWNER_PASSWORD));
    expect((await rest.ownImage(owner.accessToken)).ok).toBe(true);
  });
});
