import { useState } from "preact/hooks";
import { type Me, trpc } from "./api.ts";
import { grantRefusal } from "./permissions.ts";
import { ErrorNote, Field, href, useAction } from "./ui.tsx";

type Created = Awaited<ReturnType<typeof trpc.users.create.mutate>>;

/** Creates a user with status `invited`; the service mails them a link to choose a password. */
export function InvitePage({ me }: { me: Me }) {
  const action = useAction();
  const [created, setCreated] = useState<Created>();
  const roleRefusal = grantRefusal(me);
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    void action.run(async () => {
      const user = await trpc.users.create.mutate({
        email: text("email"),
        firstName: text("firstName"),
        lastName: text("lastName"),
        ...(text("username") && { username: text("username") }),
        role: (text("role") || "User") as Created["role"],
      });
      setCreated(user);
      form.reset();
      return undefined;
    });
  };
  const input = (name: string, label: string, required = true, max = 100) => (
    <Field label={label}>
      {(id) => <input id={id} name={name} type="text" required={required} maxLength={max} />}
    </Field>
  );
  return (
    <section>
      <h1>Invite a user</h1>
      <p>The user is created with status invited and mailed a link to choose a password.</p>
      <form class="card" onSubmit={submit}>
        <div class="grid">
          <Field label="Email">
            {(id) => <input id={id} name="email" type="email" required maxLength={254} />}
          </Field>
          {input("firstName", "First name")}
          {input("lastName", "Last name")}
          {input("username", "Username (optional)", false, 32)}
          <Field label="Role" reason={roleRefusal}>
            {(id, describedBy) => (
              <select id={id} name="role" disabled={!!roleRefusal} aria-describedby={describedBy}>
                <option>User</option>
                <option>Admin</option>
                <option>AppAdmin</option>
              </select>
            )}
          </Field>
        </div>
        <ErrorNote failure={action.failure} />
        {created && (
          <p class="notice" role="status">
            Invited <a href={href(`/users/${created.id}`)}>{created.email}</a>; the invitation mail
            is on its way.
          </p>
        )}
        <button type="submit" disabled={action.busy}>
          Send invitation
        </button>
      </form>
    </section>
  );
}
