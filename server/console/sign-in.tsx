import { useState } from "preact/hooks";
import {
  CODE_FACTORS,
  type CodeFactor,
  completeSignIn,
  completeSignInWithPasskey,
  type Failure,
  failureOf,
  type Me,
  type SecondFactorChallenge,
  signIn,
} from "./api.ts";
import { ErrorNote } from "./ui.tsx";

type SignedIn = (me: Me) => void;

export function SignIn({
  onSignedIn,
  notice,
}: {
  onSignedIn: SignedIn;
  /** Why the person is here again (a session that ended), until they try. */
  notice?: Failure | undefined;
}) {
  const [failure, setFailure] = useState<Failure | undefined>(notice);
  const [busy, setBusy] = useState(false);
  const [pending, setPending] = useState<SecondFactorChallenge | undefined>();
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setFailure(undefined);
    try {
      const answer = await signIn(String(form.get("email")), String(form.get("password")));
      if ("me" in answer) return onSignedIn(answer.me);
      setPending(answer.challenge);
      setBusy(false);
    } catch (error) {
      setFailure(failureOf(error));
      setBusy(false);
    }
  };
  if (pending) {
    return (
      <CodeStep
        challenge={pending}
        onSignedIn={onSignedIn}
        onStartOver={(why) => {
          setPending(undefined);
          setFailure(why);
        }}
      />
    );
  }
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

const FACTOR_LABELS: Record<CodeFactor, string> = {
  totp: "Authenticator app code",
  recovery_code: "Recovery code",
};

/**
 * The second step: a code of one of the account's factors that take one (an authenticator app's
 * or a recovery code), or one of its passkeys. A challenge that is used up or expired sends the person back to the
 * password form with the reason.
 */
function CodeStep({
  challenge,
  onSignedIn,
  onStartOver,
}: {
  challenge: SecondFactorChallenge;
  onSignedIn: SignedIn;
  onStartOver: (why?: Failure) => void;
}) {
  const offered = CODE_FACTORS.filter((kind) => challenge.factors.includes(kind));
  const [factor, setFactor] = useState<CodeFactor | undefined>(offered[0]);
  const [failure, setFailure] = useState<Failure | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!factor) return;
    const form = new FormData(event.currentTarget as HTMLFormElement);
    await attempt(() => completeSignIn(challenge.challenge, factor, String(form.get("code"))));
  };
  const attempt = async (signIn: () => Promise<Me>) => {
    setBusy(true);
    setFailure(undefined);
    try {
      onSignedIn(await signIn());
    } catch (error) {
      const why = failureOf(error);
      // The challenge is spent, expired or out of tries: only a new password step helps.
      if (why.code === "INVALID_CREDENTIALS") return onStartOver(why);
      setFailure(why);
      setBusy(false);
    }
  };
  const usePasskey = challenge.factors.includes("passkey") && (
    <button
      type="button"
      disabled={busy}
      onClick={() => attempt(() => completeSignInWithPasskey(challenge.challenge))}
    >
      Use a passkey
    </button>
  );
  return (
    <main class="sign-in">
      <h1>Admin console</h1>
      <p>This account has a second factor: use it to finish signing in.</p>
      {factor ? (
        <form onSubmit={submit}>
          {offered.length > 1 && (
            <fieldset class="field">
              <legend>Kind of code</legend>
              {offered.map((kind) => (
                <label key={kind}>
                  <input
                    type="radio"
                    name="factor"
                    value={kind}
                    checked={factor === kind}
                    onChange={() => setFactor(kind)}
                  />{" "}
                  {FACTOR_LABELS[kind]}
                </label>
              ))}
            </fieldset>
          )}
          <div class="field">
            <label for="code">{FACTOR_LABELS[factor]}</label>
            <input
              id="code"
              name="code"
              type="text"
              autocomplete="one-time-code"
              inputMode={factor === "totp" ? "numeric" : "text"}
              required
              maxLength={64}
            />
          </div>
          <ErrorNote failure={failure} />
          <button type="submit" disabled={busy}>
            {busy ? "Checking…" : "Verify"}
          </button>
        </form>
      ) : (
        <ErrorNote failure={failure} />
      )}
      {usePasskey}
      <button type="button" class="link" onClick={() => onStartOver()}>
        Start over
      </button>
    </main>
  );
}
