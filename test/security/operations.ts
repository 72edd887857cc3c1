/**
 * Shared by the OWASP API Top 10 suite in this folder: the operations, discovered from the
 * router (every procedure with `openapi` meta, raw routes included), and a valid request for
 * each, built against throwaway fixtures so a test can aim any operation at any target.
 */
import { randomUUID } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import { decodeJwt } from "jose";
import { sql } from "kysely";
import { forEachOpenApiProcedure } from "trpc-to-openapi";
import { z } from "zod";
import { recordUserEvent } from "../../db/events.ts";
import type { UserRow } from "../../db/users.ts";
import { insertEndpoint } from "../../db/webhooks.ts";
import { appRouter } from "../../routers/router.ts";
import {
  createPasskeyAssertionOptions,
  createRegistrationOptions,
  registerPasskey,
} from "../../server/auth/passkeys/index.ts";
import { issueSignInChallenge } from "../../server/auth/second-factor/sign-in-challenge.ts";
import { checkTotpCode, startTotpEnrolment } from "../../server/auth/second-factor/totp-factor.ts";
import { createContext } from "../../server/context.ts";
import { procedureSchemas, proceduresOf } from "../../server/http/trpc-wire.ts";
import type { Meta } from "../../server/trpc.ts";
import { imagePart, makeImage } from "../helpers/image-fixtures.ts";
import { authenticator, awayFromStepEdge } from "../helpers/second-factor.ts";
import { softAuthenticator } from "../helpers/soft-authenticator.ts";
import { PASSWORD, type TestApp } from "../helpers/test-app.ts";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export type Operation = {
  /** tRPC path, e.g. `users.get`. */
  procedure: string;
  method: Method;
  /** The OpenAPI path without the `/api` prefix, e.g. `/users/{id}`. */
  path: string;
  /** `METHOD path`, the key of the tables in this suite. */
  key: string;
  protect: boolean;
  rawRoute: boolean;
  /** A DELETE that takes a JSON body (meta `bodyOnDelete`). */
  bodyOnDelete: boolean;
  input: z.ZodType | undefined;
  output: z.ZodType | undefined;
  pathParams: string[];
  successStatus: number;
};

/** Every operation both doors serve, from the router itself. */
export function listOperations(): Operation[] {
  const operations: Operation[] = [];
  forEachOpenApiProcedure<Meta>(proceduresOf(appRouter), ({ path, procedure, meta }) => {
    const method = meta.openapi.method as Method;
    const schemas = procedureSchemas(procedure) as { input?: z.ZodType; output?: z.ZodType };
    operations.push({
      procedure: path,
      method,
      path: meta.openapi.path,
      key: `${method} ${meta.openapi.path}`,
      protect: meta.openapi.protect !== false,
      rawRoute: meta.rawRoute === true,
      bodyOnDelete: meta.bodyOnDelete === true,
      input: schemas.input,
      output: schemas.output,
      successStatus: meta.successStatus ?? 200,
      pathParams: [...meta.openapi.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string),
    });
  });
  return operations;
}

export const SECRETS = /\$argon2|password_hash|passwordHash|token_hash|tokenHash|token_version/;
export const NEW_PASSWORD = "copper-meadow-silent-83-falcon";

/** A small real PNG, as multipart/form-data with one `image` part. */
export async function multipartImage(): Promise<{ payload: Buffer; contentType: string }> {
  const { payload, headers } = await imagePart(await makeImage("png", 8, 8));
  return { payload, contentType: headers["content-type"] };
}

/** The objects an operation may be aimed at. */
export type Targets = {
  /** A user the operation acts on (a plain User unless the test says otherwise). */
  user: UserRow;
  /** A live refresh token and session id of `user`. */
  refreshToken: string;
  sessionId: number;
  /** An organization (with `user` as a member, so member routes find a membership). */
  organizationId: number;
  /** A live sign-in challenge of another user, who has TOTP, and that user's current code. */
  challenge: string;
  totpCode: string;
  /** A passkey of `user`, on a software authenticator. */
  passkeyId: number;
  /** A live sign-in challenge of `user` (whose second factor is that passkey). */
  passkeyChallenge: string;
  /** A fresh assertion by that passkey, answering a new sign-in challenge. */
  passkeySignIn: () => Promise<unknown>;
  /** A webhook endpoint (for user events), and one delivery of it (about `user`). */
  webhookId: number;
  deliveryId: number;
};

export type RequestSpec = {
  method: Method;
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
};

let unique = 0;
const tag = () => `${Date.now().toString(36)}${++unique}${randomUUID().slice(0, 4)}`;

/**
 * A valid request for each operation, keyed by `METHOD path`. A new operation without an entry
 * makes `requestFor` throw, so the suite has to be taught about it.
 */
export const VALID_REQUESTS: Record<string, (t: Targets) => Omit<RequestSpec, "method" | "url">> = {
  "POST /auth/token": (t) => ({ payload: { email: t.user.email, password: PASSWORD } }),
  "POST /auth/refresh": (t) => ({ payload: { refreshToken: t.refreshToken } }),
  "POST /auth/logout": (t) => ({ payload: { refreshToken: t.refreshToken } }),
  "POST /auth/logout-all": () => ({}),
  "POST /auth/token/second-factor": (t) => ({
    payload: { challenge: t.challenge, factor: "totp", code: t.totpCode },
  }),
  "POST /auth/step-up": () => ({ payload: { password: PASSWORD } }),
  "POST /auth/token/second-factor/passkey-options": (t) => ({
    payload: { challenge: t.passkeyChallenge },
  }),
  "POST /auth/step-up/passkey-options": () => ({}),
  "GET /users/me/factors": () => ({}),
  "POST /users/me/factors/totp": () => ({}),
  // No enrolment is pending for a fresh caller: a 409, past every authorization check.
  "POST /users/me/factors/totp/confirm": () => ({ payload: { code: "123456" } }),
  "DELETE /users/me/factors/totp": () => ({}),
  "POST /users/me/factors/recovery-codes": () => ({}),
  "GET /users/{id}/factors": () => ({}),
  "DELETE /users/{id}/factors": () => ({}),
  "POST /auth/password-reset": (t) => ({ payload: { email: t.user.email } }),
  "POST /auth/password-reset/confirm": () => ({
    payload: { token: `no-such-token-${tag()}`, newPassword: NEW_PASSWORD },
  }),
  "POST /auth/link-state": () => ({
    payload: { token: `no-such-token-${tag()}`, kind: "invitation" },
  }),
  "POST /users/signup": () => ({
    payload: {
      email: `signup-${tag()}@example.com`,
      password: PASSWORD,
      firstName: "Sign",
      lastName: "Up",
    },
  }),
  "GET /users": () => ({}),
  "POST /users": () => ({
    payload: { email: `created-${tag()}@example.com`, firstName: "New", lastName: "User" },
  }),
  "GET /users/me": () => ({}),
  "PATCH /users/me": () => ({ payload: { firstName: "Patched" } }),
  "GET /users/{id}": () => ({}),
  "PATCH /users/{id}": () => ({ payload: { lastName: "Edited" } }),
  "DELETE /users/{id}": () => ({}),
  "POST /users/{id}/restore": () => ({}),
  "PUT /users/password": () => ({
    payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
  }),
  "PUT /users/{id}/password": () => ({ payload: { newPassword: NEW_PASSWORD } }),
  "POST /users/{id}/verification": () => ({}),
  "POST /users/{id}/invitation": () => ({}),
  "GET /users/{id}/accessible-organizations": () => ({}),
  "GET /users/me/sessions": () => ({}),
  "DELETE /users/me/sessions/{id}": () => ({}),
  "POST /users/verification/confirm": () => ({ payload: { token: `no-such-token-${tag()}` } }),
  "POST /users/invitation/accept": () => ({
    payload: { token: `no-such-token-${tag()}`, password: NEW_PASSWORD },
  }),
  "POST /users/me/email": () => ({
    payload: { newEmail: `moved-${tag()}@example.com`, currentPassword: PASSWORD },
  }),
  "GET /users/{id}/mail": () => ({}),
  "POST /organizations": () => ({ payload: { name: `Org ${tag()}` } }),
  "GET /organizations": () => ({}),
  "GET /organizations/{id}": () => ({}),
  "PATCH /organizations/{id}": () => ({ payload: { name: `Renamed ${tag()}` } }),
  "DELETE /organizations/{id}": () => ({}),
  "PUT /organizations/{id}/members/{userId}": () => ({ payload: { role: "Member" } }),
  "DELETE /organizations/{id}/members/{userId}": () => ({}),
  "GET /organizations/{id}/members": () => ({}),
  "GET /audit": () => ({}),
  "GET /events": () => ({}),
  "POST /webhooks": () => ({
    payload: { url: `https://93.184.216.34/${tag()}`, eventTypes: ["user.created"] },
  }),
  "GET /webhooks": () => ({}),
  "GET /webhooks/{id}": () => ({}),
  "PATCH /webhooks/{id}": () => ({ payload: { description: `Edited ${tag()}` } }),
  "DELETE /webhooks/{id}": () => ({}),
  "POST /webhooks/{id}/secret": () => ({}),
  "GET /webhooks/{id}/deliveries": () => ({}),
  "POST /webhooks/{id}/deliveries/{deliveryId}/redeliver": () => ({}),
  "POST /users/me/passkeys/registration-options": () => ({}),
  // Well-formed, but answering no challenge of the caller's (a 400); API3 registers for real.
  "POST /users/me/passkeys": () => ({
    payload: {
      name: "Security key",
      webauthn: {
        id: "AAAA",
        rawId: "AAAA",
        type: "public-key",
        clientExtensionResults: {},
        response: { clientDataJSON: "e30", attestationObject: "oA", transports: ["usb"] },
      },
    },
  }),
  "GET /users/me/passkeys": () => ({}),
  "PATCH /users/me/passkeys/{id}": () => ({ payload: { name: `Renamed ${tag()}` } }),
  "DELETE /users/me/passkeys/{id}": () => ({}),
  "GET /users/{id}/passkeys": () => ({}),
  "POST /auth/passkey/options": () => ({}),
  // Filled in by requestFor (the assertion needs a fresh challenge).
  "POST /auth/passkey/token": () => ({}),
  "GET /users/import/{jobId}": () => ({}),
  "GET /users/export": () => ({}),
  "GET /users/me/export": () => ({}),
  "DELETE /users/me": () => ({ payload: { currentPassword: PASSWORD } }),
  // Filled in by requestFor (multipart needs async work; the import's body is a file).
  "POST /users/import": () => ({}),
  "POST /users/profile/image": () => ({}),
  "GET /users/profile/image": () => ({}),
  "DELETE /users/profile/image": () => ({}),
  "GET /users/{id}/profile/image": () => ({}),
};

/** The concrete URL of an operation aimed at the targets. */
export function urlFor(operation: Operation, t: Targets): string {
  const isOrganization = operation.path.startsWith("/organizations/");
  const isSession = operation.path.startsWith("/users/me/sessions/");
  const isPasskey = operation.path.startsWith("/users/me/passkeys/");
  const isWebhook = operation.path.startsWith("/webhooks/");
  return `/api${operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === "userId") return String(t.user.id);
    if (name === "deliveryId") return String(t.deliveryId);
    if (isWebhook) return String(t.webhookId);
    if (isOrganization) return String(t.organizationId);
    if (isSession) return String(t.sessionId);
    if (isPasskey) return String(t.passkeyId);
    return String(t.user.id);
  })}`;
}

/** A valid request for the operation, aimed at the targets. */
export async function requestFor(operation: Operation, t: Targets): Promise<RequestSpec> {
  const build = VALID_REQUESTS[operation.key];
  if (!build) throw new Error(`No valid request known for ${operation.key}: add one`);
  const spec: RequestSpec = { method: operation.method, url: urlFor(operation, t), ...build(t) };
  if (operation.key === "POST /users/import") {
    spec.payload = `${JSON.stringify({
      email: `imported-${tag()}@example.com`,
      username: `imported-${tag()}`,
      firstName: "Imported",
      lastName: "User",
    })}\n`;
    spec.headers = { "content-type": "application/x-ndjson" };
  }
  if (operation.key === "POST /users/profile/image") {
    const { payload, contentType } = await multipartImage();
    spec.payload = payload;
    spec.headers = { "content-type": contentType };
  }
  if (operation.key === "POST /auth/passkey/token") {
    spec.payload = { webauthn: await t.passkeySignIn() };
  }
  return spec;
}

/**
 * Fresh targets: a user (role as given), one session of theirs, an organization they belong to,
 * a passkey of theirs.
 */
export async function makeTargets(
  app: TestApp,
  overrides: Parameters<TestApp["createUser"]>[0] = {},
): Promise<Targets> {
  const user = await app.createUser(overrides);
  const tokens = await app.login(user);
  const sessionId = Number(decodeJwt(tokens.accessToken).sid);
  const organization = await app.db
    .insertInto("organizations")
    .values({ name: `Org ${tag()}`, parent_id: null })
    .returning("id")
    .executeTakeFirstOrThrow();
  await app.db
    .insertInto("memberships")
    .values({ user_id: user.id, organization_id: organization.id, role: "Member" })
    .execute();
  const { challenge, totpCode } = await signInChallenge(app);
  const device = softAuthenticator(app.config.APP_URL);
  const passkey = await registerPasskey(app.db, app.config, {
    userId: user.id,
    name: "Target's key",
    response: device.create(await createRegistrationOptions(app.db, app.config, user)),
  });
  const passkeyChallenge = await issueSignInChallenge(createContext(app.deps), user.id, [
    "passkey",
  ]);
  const webhook = await insertEndpoint(app.db, {
    url: `https://93.184.216.34/${tag()}`,
    description: "",
    eventTypes: ["user.updated"],
    secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==",
  });
  await app.db.transaction().execute((tx) => recordUserEvent(tx, "user.updated", user.id, []));
  const delivery = await app.db
    .selectFrom("webhook_deliveries")
    .select(sql<number>`id::int`.as("id"))
    .where("endpoint_id", "=", webhook.id)
    .executeTakeFirstOrThrow();
  return {
    user,
    refreshToken: tokens.refreshToken,
    sessionId,
    organizationId: organization.id,
    challenge,
    totpCode,
    passkeyId: passkey.id,
    passkeyChallenge: passkeyChallenge.challenge,
    passkeySignIn: async () => device.get(await createPasskeyAssertionOptions(app.db, app.config)),
    webhookId: webhook.id,
    deliveryId: delivery.id,
  };
}

/** A user with TOTP halfway through signing in: the challenge, and the code that completes it. */
async function signInChallenge(app: TestApp): Promise<{ challenge: string; totpCode: string }> {
  const user = await app.createUser();
  const ctx = createContext(app.deps);
  const enrolment = await startTotpEnrolment(ctx, user);
  if (!enrolment) throw new Error("a new user has no TOTP yet");
  const phone = authenticator(enrolment.otpauthUri);
  await awayFromStepEdge();
  if (!(await checkTotpCode(ctx, user.id, phone.code(-1), true))) throw new Error("not confirmed");
  const { challenge } = await issueSignInChallenge(ctx, user.id, ["totp"]);
  return { challenge, totpCode: phone.code() };
}

/** Sends a request through the REST door, with an optional bearer token. */
export function send(
  app: TestApp,
  spec: RequestSpec,
  accessToken?: string,
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...spec.headers };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  return app.app.inject({
    method: spec.method,
    url: spec.url,
    headers,
    ...(spec.payload !== undefined && { payload: spec.payload as string }),
  });
}

/** The tRPC input of an operation: its body plus its path parameters, typed as the schema wants. */
export function trpcInput(
  operation: Operation,
  url: string,
  payload: unknown,
): Record<string, unknown> {
  const shape =
    operation.input instanceof z.ZodObject
      ? (operation.input.shape as Record<string, z.ZodType>)
      : {};
  const values = url.replace(/^\/api/, "").split("/");
  const template = operation.path.split("/");
  const input: Record<string, unknown> = { ...(payload as Record<string, unknown>) };
  template.forEach((segment, i) => {
    const name = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (!name) return;
    const raw = values[i] as string;
    input[name] = shape[name] instanceof z.ZodString ? raw : Number(raw);
  });
  return input;
}

/** Calls the operation's procedure through a tRPC caller with that input. */
export function trpcCall(caller: unknown, operation: Operation, input: unknown): Promise<unknown> {
  const call = operation.procedure
    .split(".")
    .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as (
    input: unknown,
  ) => Promise<unknown>;
  return call(input);
}
