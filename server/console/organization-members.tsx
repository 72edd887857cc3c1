import { useState } from "preact/hooks";
import { trpc } from "./api.ts";
import { ErrorNote, Field, href, Notice, useAction, useLoad } from "./ui.tsx";

const PAGE_SIZE = 50;
type MembershipRole = Parameters<typeof trpc.organizations.putMember.mutate>[0]["role"];

/** An organization's members with their roles: add (or change a role), remove, page. */
export function OrganizationMembers({ organizationId }: { organizationId: number }) {
  const [skip, setSkip] = useState(0);
  const members = useLoad(
    () => trpc.organizations.members.query({ id: organizationId, $top: PAGE_SIZE, $skip: skip }),
    [organizationId, skip],
  );
  const action = useAction();
  const [user, setUser] = useState("");
  const [role, setRole] = useState<MembershipRole>("Member");
  const put = (event: SubmitEvent) => {
    event.preventDefault();
    void action.run(async () => {
      // An id or a username, as the user paths take it.
      const found = await trpc.users.get.query({ id: user.trim() });
      await trpc.organizations.putMember.mutate({ id: organizationId, userId: found.id, role });
      setUser("");
      members.reload();
      return `${found.username} is a ${role}`;
    });
  };
  const remove = (userId: number, username: string) =>
    action.run(async () => {
      await trpc.organizations.deleteMember.mutate({ id: organizationId, userId });
      members.reload();
      return `${username} removed`;
    });
  const rows = members.data?.value ?? [];
  return (
    <section class="card" aria-labelledby="members-heading">
      <h2 id="members-heading">Members</h2>
      <ErrorNote failure={members.failure} />
      {members.data && (
        <p class="count">
          {members.data.count === 1 ? "1 member" : `${members.data.count} members`}
        </p>
      )}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((member) => (
                <tr key={member.userId}>
                  <td>
                    <a href={href(`/users/${member.userId}`)}>{member.username}</a>
                  </td>
                  <td>{member.email}</td>
                  <td>{member.role}</td>
                  <td>
                    <button
                      type="button"
                      class="link"
                      disabled={action.busy}
                      onClick={() => remove(member.userId, member.username)}
                      aria-label={`Remove ${member.username}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {members.data && members.data.count > PAGE_SIZE && (
        <nav class="pager" aria-label="Member pages">
          <button type="button" disabled={skip === 0} onClick={() => setSkip(skip - PAGE_SIZE)}>
            Previous page
          </button>
          <button
            type="button"
            disabled={skip + PAGE_SIZE >= members.data.count}
            onClick={() => setSkip(skip + PAGE_SIZE)}
          >
            Next page
          </button>
        </nav>
      )}
      <form onSubmit={put} class="row add-member">
        <Field label="User (id or username)">
          {(id) => (
            <input
              id={id}
              value={user}
              onInput={(event) => setUser(event.currentTarget.value)}
              required
              maxLength={64}
            />
          )}
        </Field>
        <Field label="Membership role">
          {(id) => (
            <select
              id={id}
              value={role}
              onChange={(event) => setRole(event.currentTarget.value as MembershipRole)}
            >
              <option>Member</option>
              <option>Admin</option>
            </select>
          )}
        </Field>
        <button type="submit" disabled={action.busy}>
          Add or change member
        </button>
      </form>
      <ErrorNote failure={action.failure} />
      <Notice text={action.notice} />
    </section>
  );
}
