import { useState } from "preact/hooks";
import { type Failure, failureOf, type Me, signIn } from "./api.ts";
import { ErrorNote } from "./ui.tsx";

export function SignIn({
  onSignedIn,
  notice,
}: {
  onSignedIn: (me: Me) => void;
  /** Why the person is here again (a session that ended), until they try. */
  notice?: Failure | undefined;
}) {
  const [failure, setFailure] = useState<Failure | undefined>(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setFailure(undefined);
    try {
      onSignedIn(await signIn(String(form.get("email")), String(form.get("password"))));
    } catch (error) {
      setFailure(failureOf(error));
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Admin console</h1>
      <p>Sign in with an Admin or AppAdmin account.</p>
      <form onSubmit={submit}>
        <div class="field">
          <label for="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            autocomplete="username"
            required
            maxLength={254}
          />
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            maxLength={1024}
          />
        </div>
        <ErrorNote failure={failure} />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
