import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, PASSWORD, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const signup = (body: unknown) =>
  t.app.inject({ method: "POST", url: "/api/users/signup", payload: body as object });

describe("POST /api/users/signup", () => {
  it("creates a pending user, derives a username and queues the verification mail", async () => {
    const res = await signup({
      email: " Ada@Example.com ",
      password: PASSWORD,
      firstName: "Ada",
      lastName: "Lovelace",
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      email: "Ada@Example.com",
      username: "ada",
      firstName: "Ada",
      lastName: "Lovelace",
      status: "pending",
      role: "User",
      emailVerified: false,
      lastLoginAt: null,
    });
    expect(JSON.stringify(body)).not.toMatch(/argon2|password/i);
    const mails = await t.db
      .selectFrom("mail_outbox")
      .selectAll()
      .where("user_id", "=", body.id)
      .execute();
    expect(mails).toHaveLength(1);
    expect(mails[0]?.kind).toBe("verification");
    expect(mails[0]?.recipient).toBe("Ada@Example.com");
  });

  it("refuses the same email in another case with 409 EMAIL_TAKEN", async () => {
    await signup({ email: "grace@example.com", password: PASSWORD, firstName: "G", lastName: "H" });
    const res = await signup({
      email: "GRACE@example.com",
      password: PASSWORD,
      firstName: "G",
      lastName: "H",
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ code: "EMAIL_TAKEN", message: expect.any(String) });
  });

  it("gives the next free username when the derived one is taken", async () => {
    const first = await signup({
      email: "lin@one.example",
      password: PASSWORD,
      firstName: "L",
      lastName: "I",
    });
    const second = await signup({
      email: "lin@two.example",
      password: PASSWORD,
      firstName: "L",
      lastName: "I",
    });
    expect(first.json().username).toBe("lin");
    expect(second.json().username).toBe("lin2");
  });

  it("refuses unknown fields (mass assignment) with 400 VALIDATION_ERROR", async () => {
    const res = await signup({
      email: "eve@example.com",
      password: PASSWORD,
      firstName: "E",
      lastName: "V",
      role: "AppAdmin",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: "VALIDATION_ERROR",
      issues: [{ path: "", message: expect.stringContaining("role") }],
    });
  });

  it("refuses a weak password with 400 WEAK_PASSWORD naming the rule", async () => {
    const res = await signup({
      email: "weak@example.com",
      password: "short",
      firstName: "W",
      lastName: "K",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: "WEAK_PASSWORD",
      message: expect.stringMatching(/at least 15/),
    });
  });

  it("gives exactly one 201 and nineteen 409 for 20 concurrent signups with one email", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        signup({ email: "race@example.com", password: PASSWORD, firstName: "R", lastName: "C" }),
      ),
    );
    const statuses = results.map((res) => res.statusCode).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const rows = await t.db
      .selectFrom("users")
      .select("id")
      .where("email", "=", "race@example.com")
      .execute();
    expect(rows).toHaveLength(1);
  });

  it("answers malformed JSON with 400 in the API's body shape", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/api/users/signup",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "VALIDATION_ERROR", message: expect.any(String) });
  });
});
