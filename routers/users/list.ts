import { z } from "zod";
import { listUsers } from "../../server/listing/list-users.ts";
import { isAdmin, visibilityFor } from "../../server/permissions/permissions.ts";
import { authedProcedure } from "../../server/trpc.ts";
import { toUser, ZUser } from "./user-schema.ts";

export const ZListUsersInput = z.strictObject({
  $filter: z
    .string()
    .max(2000)
    .meta({
      description:
        "OData v4 filter: eq ne gt ge lt le, and or not, in (…), contains/startswith/endswith, tolower/toupper",
      // Matches a demo user of `npm run db:seed` (Alice Anders), so "Try it out" finds someone.
      example: "startswith(lastName,'An') and status eq 'active'",
    })
    .optional(),
  $orderby: z
    .string()
    .max(200)
    .meta({ description: "Up to 3 fields, asc or desc", example: "lastName asc,createdAt desc" })
    .optional(),
  $select: z
    .string()
    .max(300)
    .meta({ description: "The user fields to return", example: "id,email,lastName" })
    .optional(),
  $top: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .meta({ description: "Page size", example: 50 })
    .default(100),
  $skip: z
    .number()
    .int()
    .min(0)
    .max(1_000_000_000)
    .meta({ description: "Rows to skip (prefer nextLink for deep pages)", example: 0 })
    .default(0),
  $skiptoken: z
    .string()
    .max(4000)
    .meta({ description: "Opaque cursor from a previous page's nextLink" })
    .optional(),
});

/**
 * The input that asks for the page after this one: the same query from the cursor on (the cursor
 * carries the position, so no `$skip`). Each door presents it (server/http/rest.ts presentPage).
 */
const ZNextPage = ZListUsersInput.omit({ $skip: true }).required({ $skiptoken: true });

export const listUsersRoute = authedProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users",
      tags: ["users"],
      summary:
        "List users (OData $filter, $orderby, $select, $top, $skip; nextLink pages by keyset)",
    },
    errors: ["INVALID_FILTER"],
    paged: true,
  })
  .input(ZListUsersInput)
  .output(
    z.object({
      value: z.array(ZUser.partial()),
      count: z.number().int(),
      /** Filled by the door: the REST URL of the next page. */
      nextLink: z.string().optional(),
      next: ZNextPage.optional(),
    }),
  )
  .query(async ({ ctx, input }) => {
    const page = await listUsers(ctx.reader, {
      filter: input.$filter,
      orderby: input.$orderby,
      select: input.$select,
      top: input.$top,
      skip: input.$skip,
      cursor: input.$skiptoken,
      cursorKey: ctx.tokens.cursorKey,
      visibility: visibilityFor(ctx.user),
      mayIncludeDeleted: isAdmin(ctx.user),
    });
    const value = page.rows.map((row) => project(toUser(row), page.select));
    return {
      value,
      count: page.count,
      ...(page.nextCursor && {
        next: {
          $filter: input.$filter,
          $orderby: input.$orderby,
          $select: input.$select,
          $top: input.$top,
          $skiptoken: page.nextCursor,
        },
      }),
    };
  });

function project<T extends Record<string, unknown>>(
  user: T,
  fields: readonly string[] | undefined,
) {
  if (!fields) return user;
  return Object.fromEntries(fields.map((field) => [field, user[field]])) as Partial<T>;
}
