import type { Kysely } from "kysely";
import type { Database } from "../../db/database.ts";
import { type PublicUserRow, passwordHashesOf } from "../../db/users.ts";
import type { CursorKey } from "../listing/cursor.ts";
import { listUsers } from "../listing/list-users.ts";

/** Users read per query: memory stays at one page however many users there are. */
export const EXPORT_PAGE_ROWS = 1000;

export type ExportedRow = PublicUserRow & { password_hash?: string | null };

/**
 * Every user the filter (the listing language's $filter; deleted users only when it asks for
 * them, as in the listing) selects, a page at a time in id order by keyset, so an export of
 * millions holds one page. With `withHashes`, each row carries its stored password hash.
 */
export async function* exportUserPages(
  db: Kysely<Database>,
  options: {
    filter?: string | undefined;
    cursorKey: CursorKey;
    withHashes: boolean;
    /** Where a previous page ended (its `nextCursor`). */
    cursor?: string | undefined;
  },
): AsyncGenerator<{ rows: ExportedRow[]; nextCursor: string | undefined }> {
  let cursor = options.cursor;
  for (;;) {
    const page = await listUsers(db, {
      filter: options.filter,
      orderby: "id",
      top: EXPORT_PAGE_ROWS,
      skip: 0,
      cursor,
      cursorKey: options.cursorKey,
      mayIncludeDeleted: true,
    });
    if (options.withHashes) {
      const hashes = await passwordHashesOf(
        db,
        page.rows.map((row) => row.id),
      );
      const rows = page.rows.map((row) => ({ ...row, password_hash: hashes.get(row.id) ?? null }));
      yield { rows, nextCursor: page.nextCursor };
    } else {
      yield { rows: page.rows, nextCursor: page.nextCursor };
    }
    if (!page.nextCursor) return;
    cursor = page.nextCursor;
  }
}
