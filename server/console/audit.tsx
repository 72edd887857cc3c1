import { useState } from "preact/hooks";
import { trpc } from "./api.ts";
import { ErrorNote, href, useLoad, when } from "./ui.tsx";

const PAGE_SIZE = 25;

type AuditFilter = { actorId?: number; targetUserId?: number };

/** One page of audit entries, newest first, with Previous/Next. */
export function AuditTable({ filter, version }: { filter: AuditFilter; version?: string }) {
  const [skip, setSkip] = useState(0);
  const key = JSON.stringify(filter);
  const [shownFor, setShownFor] = useState(key);
  if (shownFor !== key) {
    setShownFor(key);
    setSkip(0);
  }
  const page = useLoad(
    async () => ({
      ...(await trpc.audit.list.query({ ...filter, $top: PAGE_SIZE, $skip: skip })),
      skip,
    }),
    [key, skip, version],
  );
  const rows = page.data?.value ?? [];
  return (
    <>
      <ErrorNote failure={page.failure} />
      {page.data && (
        <p class="count">
          {page.data.count === 0
            ? "No entries."
            : `${page.data.skip + 1}–${page.data.skip + rows.length} of ${page.data.count.toLocaleString("en-US")} entries`}
        </p>
      )}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table class="audit">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Actor</th>
                <th scope="col">Target</th>
                <th scope="col">Changes</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((entry) => (
                <tr key={entry.id}>
                  <td data-label="When">{when(entry.createdAt)}</td>
                  <td data-label="Action">
                    <code>{entry.action}</code>
                  </td>
                  <td data-label="Actor">{userLink(entry.actorId)}</td>
                  <td data-label="Target">
                    {entry.targetUserId !== null && userLink(entry.targetUserId)}
                    {entry.targetOrganizationId !== null &&
                      `organization ${entry.targetOrganizationId}`}
                  </td>
                  <td class="changes" data-label="Changes">
                    {entry.changes ? JSON.stringify(entry.changes) : ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page.data && page.data.count > PAGE_SIZE && (
        <nav class="pager" aria-label="Audit pages">
          <button
            type="button"
            disabled={skip === 0 || page.loading}
            onClick={() => setSkip(Math.max(0, skip - PAGE_SIZE))}
          >
            Previous page
          </button>
          <button
            type="button"
            disabled={!page.data || skip + PAGE_SIZE >= page.data.count || page.loading}
            onClick={() => setSkip(skip + PAGE_SIZE)}
          >
            Next page
          </button>
        </nav>
      )}
    </>
  );
}

const userLink = (id: number | null) =>
  id === null ? "—" : <a href={href(`/users/${id}`)}>user {id}</a>;

const idParam = (value: string | null) =>
  value && /^\d{1,15}$/.test(value) ? Number(value) : undefined;

/** One user-id box of the audit filter form; its name is the query parameter it sets. */
function UserIdFilter({
  name,
  label,
  value,
}: {
  name: string;
  label: string;
  value: number | undefined;
}) {
  return (
    <div class="field">
      <label for={name}>{label}</label>
      <input
        id={name}
        name={name}
        inputMode="numeric"
        pattern="[0-9]{1,15}"
        defaultValue={value ? String(value) : ""}
      />
    </div>
  );
}

/** The audit log, filtered by actor and target user (ids, kept in the address). */
export function AuditPage({ params }: { params: URLSearchParams }) {
  const filter: AuditFilter = {};
  const actorId = idParam(params.get("actorId"));
  const targetUserId = idParam(params.get("targetUserId"));
  if (actorId) filter.actorId = actorId;
  if (targetUserId) filter.targetUserId = targetUserId;
  const apply = (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const query = new URLSearchParams();
    for (const name of ["actorId", "targetUserId"]) {
      const value = String(form.get(name) ?? "").trim();
      if (value) query.set(name, value);
    }
    location.hash = `/audit?${query.toString()}`;
  };
  return (
    <section>
      <h1>Audit log</h1>
      <form class="filter row" onSubmit={apply} key={params.toString()}>
        <UserIdFilter name="actorId" label="Actor (user id)" value={actorId} />
        <UserIdFilter name="targetUserId" label="Target (user id)" value={targetUserId} />
        <button type="submit">Filter</button>
      </form>
      <AuditTable filter={filter} />
    </section>
  );
}
