// The listing's next page, as each door presents the cursor the procedure returns: REST a
// `nextLink` URL of its own, the native door the same link beside `next`, an input the
// procedure accepts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/test-app.ts";

describe("a listing's next page at each door", () => {
  let t: TestApp;
  let auth: { authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    ({ auth } = await t.userWithToken({ role: "AppAdmin" }));
    for (let i = 0; i < 4; i += 1) await t.createUser();
  });
  afterAll(() => t.close());

  const query = { $filter: "status eq 'active'", $orderby: "email desc", $top: 2 };

  it("REST: nextLink is this door's URL with the query and the cursor, and no `next`", async () => {
    const params = new URLSearchParams({ ...query, $top: "2" });
    const first = await t.app.inject({ method: "GET", url: `/api/users?${params}`, headers: auth });
    const body = first.json();
    expect(Object.keys(body)).toEqual(["value", "count", "nextLink"]);
    const link = new URL(body.nextLink);
    expect(`${link.origin}${link.pathname}`).toBe(`${t.deps.config.PUBLIC_URL}/api/users`);
    expect([...link.searchParams.keys()]).toEqual(["$filter", "$orderby", "$top", "$skiptoken"]);

    const second = await t.app.inject({
      method: "GET",
      url: link.pathname + link.search,
      headers: auth,
    });
    expect(second.statusCode).toBe(200);
    expect(second.json().value).toHaveLength(2);
  });

  it("tRPC: the same link, and `next` as the input of the same next page", async () => {
    const call = (input: unknown) =>
      t.app.inject({
        method: "GET",
        url: `/trpc/users.list?input=${encodeURIComponent(JSON.stringify(input))}`,
        headers: auth,
      });
    const rest = await t.app.inject({
      method: "GET",
      url: `/api/users?${new URLSearchParams({ ...query, $top: "2" })}`,
      headers: auth,
    });
    const page = (await call(query)).json().result.data;
    expect(page.nextLink).toBe(rest.json().nextLink);
    expect(page.next).toEqual({ ...query, $skiptoken: expect.any(String) });

    const nextLink = new URL(page.nextLink);
    const viaRest = await t.app.inject({
      method: "GET",
      url: nextLink.pathname + nextLink.search,
      headers: auth,
    });
    const viaTrpc = (await call(page.next)).json().result.data;
    expect(viaTrpc.value).toEqual(viaRest.json().value);
  });
});
