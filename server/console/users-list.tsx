// The users table: the listing language in a filter box, sorting by column, paging by the
// service's next-page cursor (the tRPC twin of nextLink) and the exact count. Only the page on
// screen is kept; going back re-asks for an earlier page by its cursor, so a million users cost
// what fifty do.

import { useState } from "preact/hooks";
import { type Failure, trpc } from "./api.ts";
import { ErrorNote, href, useLoad, when } from "./ui.tsx";

type ListInput = Parameters<typeof trpc.users.list.query>[0];

const PAGE_SIZE = 50;
const COLUMNS = [
  ["username", "Username"],
  ["email", "Email"],
  ["firstName", "First name"],
  ["lastName", "Last name"],
  ["status", "Status"],
  ["role", "Role"],
  ["createdAt", "Created"],
] as const;
type Column = (typeof COLUMNS)[number][0];

/** Where a `$filter` error starts (0-based), when the service named a position in it. */
export function filterErrorPosition(failure: Failure | undefined): number | undefined {
  if (failure?.code !== "INVALID_FILTER") return undefined;
  const match = /^position (\d+):/.exec(failure.message);
  return match ? Number(match[1]) : undefined;
}

export function UsersPage() {
  const [draft, setDraft] = useState("");
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<{ column: Column; desc: boolean }>({
    column: "createdAt",
    desc: true,
  });
  // The inputs of the pages before this one (cursors, not rows) and of this one.
  const [earlier, setEarlier] = useState<ListInput[]>([]);
  const first: ListInput = {
    ...(filter && { $filter: filter }),
    $orderby: `${sort.column} ${sort.desc ? "desc" : "asc"}`,
    $top: PAGE_SIZE,
  };
  const [current, setCurrent] = useState<ListInput | undefined>();
  const input = current ?? first;
  const from = earlier.length * PAGE_SIZE;
  // Each answer keeps the offset it was asked for: the range shown always matches the rows shown.
  const page = useLoad(
    async () => ({ ...(await trpc.users.list.query(input)), from }),
    [JSON.stringify(input)],
  );

  const restart = () => {
    setEarlier([]);
    setCurrent(undefined);
  };
  const applyFilter = (event: SubmitEvent) => {
    event.preventDefault();
    setFilter(draft.trim());
    restart();
  };
  const sortBy = (column: Column) => {
    setSort((now) => ({ column, desc: now.column === column ? !now.desc : false }));
    restart();
  };
  const position = filterErrorPosition(page.failure);
  const shown = page.data?.value ?? [];

  return (
    <section>
      <h1>Users</h1>
      <form class="filter" onSubmit={applyFilter} aria-label="Filter users">
        <label for="filter">Filter ($filter)</label>
        <div class="row">
          <input
            id="filter"
            value={draft}
            onInput={(event) => setDraft(event.currentTarget.value)}
            placeholder="startswith(lastName,'An') and status eq 'active'"
            maxLength={2000}
            spellcheck={false}
            aria-invalid={position !== undefined}
            aria-describedby={position !== undefined ? "filter-error" : "filter-help"}
          />
          <button type="submit">Apply</button>
        </div>
        <small id="filter-help">
          eq ne gt ge lt le · and or not · in (…) · contains, startswith, endswith
        </small>
        {position !== undefined && page.failure && (
          <div class="error filter-error" id="filter-error" role="alert">
            <strong class="code">{page.failure.code}</strong> {page.failure.message}
            <pre aria-hidden="true">
              {filter.slice(0, position)}
              <mark>{filter.slice(position, position + 1) || " "}</mark>
              {filter.slice(position + 1)}
              {"\n"}
              {`${" ".repeat(position)}^`}
            </pre>
          </div>
        )}
      </form>
      {position === undefined && <ErrorNote failure={page.failure} />}
      <p class="count" aria-live="polite">
        {page.data &&
          (page.data.count === 0
            ? "No users match."
            : `${page.data.from + 1}–${page.data.from + shown.length} of ${page.data.count.toLocaleString("en-US")} users`)}
      </p>
      <div class="table-wrap">
        <table class="cards" aria-busy={page.loading}>
          <thead>
            <tr>
              {COLUMNS.map(([column, label]) => (
                <th
                  key={column}
                  scope="col"
                  aria-sort={
                    sort.column === column ? (sort.desc ? "descending" : "ascending") : undefined
                  }
                >
                  <button type="button" class="sort" onClick={() => sortBy(column)}>
                    {label}
                    <span aria-hidden="true">
                      {sort.column === column ? (sort.desc ? " ▼" : " ▲") : ""}
                    </span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((user) => (
              <tr key={user.id}>
                <td data-label="Username">
                  <a href={href(`/users/${user.id}`)}>{user.username}</a>
                </td>
                <td data-label="Email">{user.email}</td>
                <td data-label="First name">{user.firstName}</td>
                <td data-label="Last name">{user.lastName}</td>
                <td data-label="Status">
                  <span class={`status status-${user.status}`}>{user.status}</span>
                </td>
                <td data-label="Role">{user.role}</td>
                <td data-label="Created">{when(user.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={earlier.length === 0 || page.loading}
          onClick={() => {
            setCurrent(earlier.length > 1 ? earlier[earlier.length - 1] : undefined);
            setEarlier(earlier.slice(0, -1));
          }}
        >
          Previous page
        </button>
        <button
          type="button"
          disabled={!page.data?.next || page.loading}
          onClick={() => {
            const next = page.data?.next;
            if (!next) return;
            setEarlier([...earlier, input]);
            setCurrent(next);
          }}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}
