import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserRow } from "../../db/users.ts";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

let t: TestApp;
let root: { authorization: string };
beforeAll(async () => {
  t = await createTestApp();
  root = (await t.userWithToken({ role: "AppAdmin" })).auth;
});
afterAll(() => t.close());

const api = (
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  url: string,
  headers: object,
  payload?: object,
) =>
  t.app.inject({
    method,
    url: `/api${url}`,
    headers: headers as Record<string, string>,
    ...(payload && { payload }),
  });

async function org(name: string, parentId?: number): Promise<number> {
  const res = await api("POST", "/organizations", root, { name, ...(parentId && { parentId }) });
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

const join = (orgId: number, user: UserRow, role: "Admin" | "Member") =>
  api("PUT", `/organizations/${orgId}/members/${user.id}`, root, { role });

/**
 * acme ─ engineering ─ platform        other (an unrelated tree)
 *      └ sales
 */
describe("organizations and visibility", () => {
  let acme: number;
  let engineering: number;
  let platform: number;
  let sales: number;
  let other: number;
  let alice: Awaited<ReturnType<TestApp["userWithToken"]>>;
  let bob: UserRow;
  let stranger: UserRow;

  beforeAll(async () => {
    acme = await org("Acme");
    engineering = await org("Engineering", acme);
    platform = await org("Platform", engineering);
    sales = await org("Sales", acme);
    other = await org("Other Corp");
    alice = await t.userWithToken();
    bob = await t.createUser();
    stranger = await t.createUser();
    expect((await join(acme, alice.user, "Member")).statusCode).toBe(200);
    await join(engineering, alice.user, "Admin");
    await join(platform, bob, "Member");
    await join(other, stranger, "Member");
  });

  it("lists inherited organizations with the nearest membership's role, sorted by name", async () => {
    const res = await api("GET", `/users/${alice.user.id}/accessible-organizations`, alice.auth);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      organizations: [
        { id: acme, name: "Acme", role: "Member" },
        { id: engineering, name: "Engineering", role: "Admin" },
        { id: platform, name: "Platform", role: "Admin" },
        { id: sales, name: "Sales", role: "Member" },
      ],
    });
  });

  it("lets a User see co-members in get and list, never a stranger", async () => {
    expect((await api("GET", `/users/${bob.id}`, alice.auth)).statusCode).toBe(200);
    expect((await api("GET", `/users/${bob.username}`, alice.auth)).statusCode).toBe(200);
    const hidden = await api("GET", `/users/${stranger.id}`, alice.auth);
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json().code).toBe("USER_NOT_FOUND");

    const list = await api("GET", "/users?$top=1000", alice.auth);
    const ids = list.json().value.map((u: { id: number }) => u.id);
    expect(ids).toContain(bob.id);
    expect(ids).toContain(alice.user.id);
    expect(ids).not.toContain(stranger.id);

    const reach = encodeURIComponent(`id eq ${stranger.id} or id ne 0`);
    const filtered = await api("GET", `/users?$filter=${reach}`, alice.auth);
    expect(filtered.json().value.map((u: { id: number }) => u.id)).not.toContain(stranger.id);
  });

  it("takes visibility away at once when a membership is removed", async () => {
    const carol = await t.createUser();
    await join(sales, carol, "Member");
    expect((await api("GET", `/users/${carol.id}`, alice.auth)).statusCode).toBe(200);
    const removed = await api("DELETE", `/organizations/${sales}/members/${carol.id}`, root);
    expect(removed.json()).toEqual({ success: true });
    expect((await api("GET", `/users/${carol.id}`, alice.auth)).statusCode).toBe(404);
  });

  it("hides soft-deleted co-members from a User but keeps their memberships", async () => {
    const dave = await t.createUser();
    await join(platform, dave, "Member");
    await api("DELETE", `/users/${dave.id}`, root);
    expect((await api("GET", `/users/${dave.id}`, alice.auth)).statusCode).toBe(404);
    await api("POST", `/users/${dave.id}/restore`, root);
    expect((await api("GET", `/users/${dave.id}`, alice.auth)).statusCode).toBe(200);
  });

  it("refuses a parent that would close a cycle, and deleting a non-empty organization", async () => {
    const cycle = await api("PATCH", `/organizations/${acme}`, root, { parentId: platform });
    expect(cycle.statusCode).toBe(409);
    const self = await api("PATCH", `/organizations/${acme}`, root, { parentId: acme });
    expect(self.statusCode).toBe(409);
    expect((await api("DELETE", `/organizations/${engineering}`, root)).statusCode).toBe(409);
    const leaf = await org("Temporary", sales);
    expect((await api("DELETE", `/organizations/${leaf}`, root)).statusCode).toBe(200);
    expect((await api("GET", `/organizations/${leaf}`, root)).statusCode).toBe(404);
  });

  it("moves and renames an organization", async () => {
    const moved = await api("PATCH", `/organizations/${sales}`, root, {
      name: "Sales EMEA",
      parentId: engineering,
    });
    expect(moved.json()).toMatchObject({ id: sales, name: "Sales EMEA", parentId: engineering });
    await api("PATCH", `/organizations/${sales}`, root, { name: "Sales", parentId: acme });
  });

  it("refuses every management operation to non-AppAdmins with 403", async () => {
    const admin = await t.userWithToken({ role: "Admin" });
    for (const who of [alice.auth, admin.auth]) {
      const attempts = [
        api("POST", "/organizations", who, { name: "X" }),
        api("GET", `/organizations/${acme}`, who),
        api("GET", "/organizations", who),
        api("PATCH", `/organizations/${acme}`, who, { name: "Y" }),
        api("DELETE", `/organizations/${other}`, who),
        api("PUT", `/organizations/${acme}/members/${stranger.id}`, who, { role: "Admin" }),
        api("DELETE", `/organizations/${acme}/members/${alice.user.id}`, who),
        api("GET", `/organizations/${acme}/members`, who),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.statusCode).toBe(403);
        expect(res.json().code).toBe("UNAUTHORIZED");
      }
    }
  });

  it("lists organizations and members, paged, through both doors", async () => {
    const res = await api("GET", "/organizations?$top=2&$skip=1", root);
    expect(res.json()).toMatchObject({ count: 5, value: [{ id: engineering }, { id: platform }] });
    const members = await api("GET", `/organizations/${platform}/members`, root);
    expect(members.json().value.map((m: { userId: number }) => m.userId)).toContain(bob.id);

    const appAdmin = await t.createUser({ role: "AppAdmin" });
    const caller = await t.callerFor(appAdmin);
    const created = await caller.organizations.create({ name: "Via tRPC", parentId: other });
    expect(created.parentId).toBe(other);
    const user = await t.callerFor(bob);
    await expect(user.organizations.get({ id: other })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    await expect(user.users.accessibleOrganizations({ id: stranger.id })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
  });
});
