import { type Me, trpc, type User } from "./api.ts";
import { AuditTable } from "./audit.tsx";
import { APP_ADMIN_ONLY } from "./permissions.ts";
import { ErrorNote, href, useLoad, when } from "./ui.tsx";

/** The user's organizations, and for an AppAdmin their mail and audit trail. */
export function UserRelated({ user, me, version }: { user: User; me: Me; version: string }) {
  const appAdmin = me.role === "AppAdmin";
  return (
    <>
      <Organizations user={user} version={version} />
      <section class="card" aria-labelledby="mail-heading">
        <h2 id="mail-heading">Mail</h2>
        {appAdmin ? <Mail user={user} version={version} /> : <p class="reason">{APP_ADMIN_ONLY}</p>}
      </section>
      <section class="card" aria-labelledby="trail-heading">
        <h2 id="trail-heading">Audit trail</h2>
        {appAdmin ? (
          <>
            <AuditTable filter={{ targetUserId: user.id }} version={version} />
            <p>
              <a href={href(`/audit?actorId=${user.id}`)}>Actions by this user</a>
            </p>
          </>
        ) : (
          <p class="reason">{APP_ADMIN_ONLY}</p>
        )}
      </section>
    </>
  );
}

function Organizations({ user, version }: { user: User; version: string }) {
  const orgs = useLoad(
    () => trpc.users.accessibleOrganizations.query({ id: user.id }),
    [user.id, version],
  );
  return (
    <section class="card" aria-labelledby="orgs-heading">
      <h2 id="orgs-heading">Organizations</h2>
      <ErrorNote failure={orgs.failure} />
      {orgs.data &&
        (orgs.data.organizations.length === 0 ? (
          <p>In no organization.</p>
        ) : (
          <ul>
            {orgs.data.organizations.map((org) => (
              <li key={org.id}>
                {org.name} <span class="muted">({org.role})</span>
              </li>
            ))}
          </ul>
        ))}
    </section>
  );
}

function Mail({ user, version }: { user: User; version: string }) {
  const mail = useLoad(() => trpc.users.mail.query({ id: user.id }), [user.id, version]);
  return (
    <>
      <ErrorNote failure={mail.failure} />
      {mail.data &&
        (mail.data.mails.length === 0 ? (
          <p>No mail sent.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">To</th>
                  <th scope="col">Status</th>
                  <th scope="col">Queued</th>
                  <th scope="col">Sent</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                {mail.data.mails.map((m) => (
                  <tr key={m.id}>
                    <td>{m.kind}</td>
                    <td>{m.recipient}</td>
                    <td>{m.status}</td>
                    <td>{when(m.createdAt)}</td>
                    <td>{when(m.sentAt)}</td>
                    <td>{m.lastError ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </>
  );
}
