import { useState } from "preact/hooks";
import { type Me, trpc, type User } from "./api.ts";
import { manageRefusal } from "./permissions.ts";
import { ErrorNote, Field, Notice, useAction } from "./ui.tsx";

/** Suspend or activate, delete or restore, mail again, and set a password. */
export function UserActions({
  user,
  me,
  onChanged,
}: {
  user: User;
  me: Me;
  onChanged: () => void;
}) {
  const refusal = manageRefusal(me, user.role);
  const action = useAction();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const act = (work: () => Promise<unknown>, done: string) => () =>
    action.run(async () => {
      await work();
      setConfirmDelete(false);
      onChanged();
      return done;
    });
  const id = user.id;
  return (
    <section class="card" aria-labelledby="actions-heading">
      <h2 id="actions-heading">Account</h2>
      {refusal && (
        <p class="reason" id="account-locked">
          {refusal}
        </p>
      )}
      <div class="actions">
        {user.status === "active" && (
          <button
            type="button"
            disabled={!!refusal || action.busy}
            onClick={act(() => trpc.users.edit.mutate({ id, status: "suspended" }), "Suspended")}
          >
            Suspend
          </button>
        )}
        {user.status === "suspended" && (
          <button
            type="button"
            disabled={!!refusal || action.busy}
            onClick={act(() => trpc.users.edit.mutate({ id, status: "active" }), "Activated")}
          >
            Activate
          </button>
        )}
        {user.status === "pending" && (
          <button
            type="button"
            disabled={!!refusal || action.busy}
            onClick={act(
              () => trpc.users.reissueVerification.mutate({ id }),
              "Verification mail sent",
            )}
          >
            Resend verification mail
          </button>
        )}
        {user.status === "invited" && (
          <button
            type="button"
            disabled={!!refusal || action.busy}
            onClick={act(() => trpc.users.reissueInvitation.mutate({ id }), "Invitation mail sent")}
          >
            Resend invitation
          </button>
        )}
        {user.status === "deleted" ? (
          <button
            type="button"
            disabled={!!refusal || action.busy}
            onClick={act(() => trpc.users.restore.mutate({ id }), "Restored")}
          >
            Restore
          </button>
        ) : confirmDelete ? (
          <>
            <button
              type="button"
              class="danger"
              disabled={action.busy}
              onClick={act(() => trpc.users.delete.mutate({ id }), "Deleted")}
            >
              Yes, delete {user.username}
            </button>
            <button type="button" onClick={() => setConfirmDelete(false)}>
              Keep
            </button>
          </>
        ) : (
          <button
            type="button"
            class="danger"
            disabled={!!refusal || action.busy}
            onClick={() => setConfirmDelete(true)}
          >
            Delete…
          </button>
        )}
      </div>
      <ErrorNote failure={action.failure} />
      <Notice text={action.notice} />
      {user.status !== "deleted" && <SetPassword user={user} refusal={refusal} />}
    </section>
  );
}

function SetPassword({ user, refusal }: { user: User; refusal: string | undefined }) {
  const action = useAction();
  const [password, setPassword] = useState("");
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    void action.run(async () => {
      const done = await trpc.users.setPassword.mutate({ id: user.id, newPassword: password });
      setPassword("");
      return done.message;
    });
  };
  return (
    <form onSubmit={submit} class="password" aria-labelledby="password-heading">
      <h3 id="password-heading">Set a password</h3>
      <Field label="New password" lockedBy={refusal && "account-locked"}>
        {(id, describedBy) => (
          <input
            id={id}
            type="password"
            autocomplete="new-password"
            value={password}
            onInput={(event) => setPassword(event.currentTarget.value)}
            disabled={!!refusal}
            aria-describedby={describedBy}
            maxLength={1024}
            required
          />
        )}
      </Field>
      <ErrorNote failure={action.failure} />
      <Notice text={action.notice} />
      <button type="submit" disabled={!!refusal || action.busy}>
        Set password
      </button>
    </form>
  );
}
