// Small pieces every screen uses: an error shown with its contract code, a labelled field,
// a loader hook, and dates. Nothing fails silently: every call's failure reaches an ErrorNote.

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useId, useState } from "preact/hooks";
import { type Failure, failureOf } from "./api.ts";

/** "try again in …" for a RATE_LIMITED answer; otherwise the message as the service gave it. */
export function describe(failure: Failure): string {
  if (failure.code === "RATE_LIMITED" && failure.retryAfter !== undefined) {
    return `${failure.message} (try again in ${duration(failure.retryAfter)})`;
  }
  return failure.message;
}

const duration = (seconds: number) =>
  seconds < 90 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;

/** A failure: its code, message and the fields' issues, announced to screen readers. */
export function ErrorNote({ failure, id }: { failure: Failure | undefined; id?: string }) {
  if (!failure) return null;
  return (
    <div class="error" role="alert" id={id}>
      <strong class="code">{failure.code}</strong> {describe(failure)}
      {failure.issues && failure.issues.length > 0 && (
        <ul>
          {failure.issues.map((issue) => (
            <li key={`${issue.path}:${issue.message}`}>
              {issue.path && <code>{issue.path}</code>} {issue.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A success message, announced politely. */
export const Notice = ({ text }: { text: string | undefined }) =>
  text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null;

/**
 * A label above its control. `reason` explains why this control is disabled; `lockedBy` names
 * the element that says why the whole form is (said once, above it).
 */
export function Field({
  label,
  reason,
  lockedBy,
  children,
}: {
  label: string;
  reason?: string | undefined;
  lockedBy?: string | undefined;
  children: (id: string, describedBy: string | undefined) => ComponentChildren;
}) {
  const id = useId();
  const reasonId = `${id}-reason`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children(id, reason ? reasonId : lockedBy)}
      {reason && (
        <small class="reason" id={reasonId}>
          {reason}
        </small>
      )}
    </div>
  );
}

export type Loaded<T> = {
  data: T | undefined;
  failure: Failure | undefined;
  loading: boolean;
  reload: () => void;
};

/** Runs `load` now and whenever `deps` change or `reload` is called; keeps the newest answer. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; failure?: Failure; loading: boolean }>({
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState({ failure: failureOf(error), loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data: state.data, failure: state.failure, loading: state.loading, reload };
}

/** Runs one action at a time, keeping its failure or success message for display. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Failure>();
  const [notice, setNotice] = useState<string>();
  const run = async (action: () => Promise<string | undefined>) => {
    setBusy(true);
    setFailure(undefined);
    setNotice(undefined);
    try {
      setNotice(await action());
    } catch (error) {
      setFailure(failureOf(error));
    } finally {
      setBusy(false);
    }
  };
  return { busy, failure, notice, run };
}

export const when = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "—";

/** A link inside the console (hash routes). */
export const href = (path: string) => `#${path}`;
