import { useState } from "preact/hooks";
import { type Me, trpc, type User } from "./api.ts";
import { grantRefusal, manageRefusal } from "./permissions.ts";
import { ErrorNote, Field, href, Notice, useAction, useLoad, when } from "./ui.tsx";
import { UserActions } from "./user-actions.tsx";
import { UserRelated } from "./user-related.tsx";

export function UserPage({ id, me }: { id: number; me: Me }) {
  const user = useLoad(() => trpc.users.get.query({ id: String(id) }), [id]);
  // Bumped by every change made here: the lists below (mail, audit trail) are asked again too,
  // also after a change that leaves the user's own row alone (a mail resent).
  const [changes, setChanges] = useState(0);
  const changed = () => {
    setChanges((n) => n + 1);
    user.reload();
  };
  return (
    <section>
      <p>
        <a href={href("/users")}>← Users</a>
      </p>
      <ErrorNote failure={user.failure} />
      {user.data && (
        <>
          <h1>
            {user.data.firstName} {user.data.lastName}{" "}
            <span class={`status status-${user.data.status}`}>{user.data.status}</span>
          </h1>
          <dl class="facts">
            <dt>Id</dt>
            <dd>{user.data.id}</dd>
            <dt>Email</dt>
            <dd>
              {user.data.email} {user.data.emailVerified ? "(verified)" : "(not verified)"}
            </dd>
            <dt>Created</dt>
            <dd>{when(user.data.createdAt)}</dd>
            <dt>Last sign-in</dt>
            <dd>{when(user.data.lastLoginAt)}</dd>
          </dl>
          <EditUser key={user.data.id} user={user.data} me={me} onSaved={changed} />
          <UserActions user={user.data} me={me} onChanged={changed} />
          <UserRelated user={user.data} me={me} version={`${user.data.updatedAt}#${changes}`} />
        </>
      )}
    </section>
  );
}

function EditUser({ user, me, onSaved }: { user: User; me: Me; onSaved: () => void }) {
  const refusal = manageRefusal(me, user.role);
  const deleted =
    user.status === "deleted" ? "A deleted user is restored before editing" : undefined;
  const locked = refusal ?? deleted;
  const [values, setValues] = useState({
    firstName: user.firstName,
    lastName: user.lastName,
    username: user.username,
    role: user.role,
  });
  const action = useAction();
  const set = (field: keyof typeof values) => (event: Event) =>
    setValues({ ...values, [field]: (event.currentTarget as HTMLInputElement).value });
  const save = (event: SubmitEvent) => {
    event.preventDefault();
    const changed = Object.fromEntries(
      Object.entries(values).filter(([field, value]) => user[field as keyof User] !== value),
    );
    void action.run(async () => {
      if (Object.keys(changed).length === 0) return "Nothing to save";
      await trpc.users.edit.mutate({ id: user.id, ...changed });
      onSaved();
      return "Saved";
    });
  };
  const text = (field: "firstName" | "lastName" | "username", label: string, max: number) => (
    <Field label={label} lockedBy={locked && "edit-locked"}>
      {(id, describedBy) => (
        <input
          id={id}
          value={values[field]}
          onInput={set(field)}
          disabled={locked !== undefined}
          aria-describedby={describedBy}
          maxLength={max}
          required
        />
      )}
    </Field>
  );
  // Said once above the form when all of it is locked; under the role when only that is.
  const roleRefusal = locked ? undefined : grantRefusal(me);
  return (
    <form class="card" onSubmit={save} aria-labelledby="edit-heading">
      <h2 id="edit-heading">Profile</h2>
      {locked && (
        <p class="reason" id="edit-locked">
          {locked}
        </p>
      )}
      <div class="grid">
        {text("firstName", "First name", 100)}
        {text("lastName", "Last name", 100)}
        {text("username", "Username", 32)}
        <Field label="Role" reason={roleRefusal} lockedBy={locked && "edit-locked"}>
          {(id, describedBy) => (
            <select
              id={id}
              value={values.role}
              onChange={set("role")}
              disabled={locked !== undefined || roleRefusal !== undefined}
              aria-describedby={describedBy}
            >
              <option>User</option>
              <option>Admin</option>
              <option>AppAdmin</option>
            </select>
          )}
        </Field>
      </div>
      <ErrorNote failure={action.failure} />
      <Notice text={action.notice} />
      <button type="submit" disabled={locked !== undefined || action.busy}>
        Save profile
      </button>
    </form>
  );
}
