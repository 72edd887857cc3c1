import { Worker } from "node:worker_threads";
import { AppError } from "../errors/api-errors.ts";
// Types only: importing the worker module's values would load zxcvbn and its dictionaries (~10 MiB
// of heap) on the main thread, which never uses them.
import type {
  STRENGTH_WORKER_ROLE,
  StrengthMessage,
  StrengthRequest,
  StrengthResult,
} from "./strength-worker.ts";

// The password policy of API.md (Passwords). The main thread only does the cheap rules (length, personal
// details); the blocklist and zxcvbn run in one long-lived worker thread (strength-worker.ts),
// because zxcvbn takes 30–200 ms on a 128-character password.

export const MAX_PASSWORD_LENGTH = 128;
/** zxcvbn scores below this are "too guessable" (< 10^10 guesses is score 3). */
const MIN_STRENGTH_SCORE = 3;
/** Checks waiting for the worker beyond this are refused with 503 rather than queued forever. */
const MAX_PENDING_CHECKS = 1000;
/** With checks pending and no answer for this long, the worker is presumed stuck and replaced. */
const WORKER_STALL_MS = 15_000;
/**
 * NFKC can merge at most a handful of code points into one, so a string this long can never
 * normalise to 128 code points: refuse it before paying for normalising it.
 */
const MAX_RAW_LENGTH = 8 * MAX_PASSWORD_LENGTH;
/** With the `u` flag a surrogate pair is one code point, so this matches only unpaired halves. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export type PasswordContext = {
  email?: string | undefined;
  username?: string | undefined;
  firstName?: string | undefined;
  lastName?: string | undefined;
};

const weak = (message: string) => new AppError("WEAK_PASSWORD", message);

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const normaliseDetail = (value: string | undefined): string =>
  (value ?? "").normalize("NFKC").trim().toLowerCase();

/** The email's local part: everything before the last `@` (the whole value when there is none). */
const localPart = (email: string): string => {
  const at = email.lastIndexOf("@");
  return at === -1 ? email : email.slice(0, at);
};

/** Details shorter than this would refuse far too many passwords to be worth matching. */
const MIN_DETAIL_LENGTH = 3;

function personalDetailsRule(lowerPassword: string, context: PasswordContext): string | undefined {
  const local = localPart(normaliseDetail(context.email));
  if (countCodePoints(local) >= MIN_DETAIL_LENGTH && lowerPassword.includes(local)) {
    return "Password must not contain your email address or the part of it before the @";
  }
  const username = normaliseDetail(context.username);
  if (countCodePoints(username) >= MIN_DETAIL_LENGTH && lowerPassword.includes(username)) {
    return "Password must not contain your username";
  }
  return undefined;
}

/** zxcvbn's user inputs: the whole email, its local part and the words in it, and the names. */
function userInputs(context: PasswordContext): string[] {
  const email = normaliseDetail(context.email);
  const local = localPart(email);
  const inputs = [
    email,
    local,
    ...local.split(/[^\p{L}\p{N}]+/u),
    normaliseDetail(context.username),
    normaliseDetail(context.firstName),
    normaliseDetail(context.lastName),
  ];
  return [...new Set(inputs.filter((input) => input.length > 0))];
}

// ---- the worker -----------------------------------------------------------------------------

type Pending = { resolve: (result: StrengthResult) => void; reject: (error: Error) => void };

type Channel = {
  worker: Worker;
  pending: Map<number, Pending>;
  ready: Promise<void>;
  /** Started when a check is pending, refreshed by every answer. */
  stallTimer: NodeJS.Timeout | undefined;
};

/**
 * The worker's heap. zxcvbn allocates briskly but keeps little (~20 MiB of dictionaries and
 * blocklist): with V8's defaults the worker grew to 130–200 MiB resident over a burst of long
 * passwords, mostly garbage awaiting collection; a 4 MiB young generation and a ceiling on the
 * old one (which makes V8 collect before the heap grows far) keep it near 60 MiB, scoring at the
 * same speed. Running out of the ceiling ends the worker, which is then replaced (see `fail`).
 */
const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 256 };

/** strength-worker.ts's STRENGTH_WORKER_ROLE, spelled out (the type checks it is the same). */
const WORKER_ROLE: typeof STRENGTH_WORKER_ROLE = "password-strength";

function spawnWorker(): Worker {
  const options = {
    name: "password-strength",
    workerData: { role: WORKER_ROLE },
    // The worker needs none of the parent's flags, and some (--inspect…) are refused in workers.
    execArgv: [],
    resourceLimits: WORKER_HEAP_LIMITS,
  };
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./strength-worker.js", import.meta.url), options);
  }
  // Running from TypeScript (tsx for the app, vitest for tests). Node 20 does not apply the
  // parent's module hooks to worker threads, so the worker registers tsx itself before loading
  // the TypeScript file; this works the same whatever loaded this module.
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./strength-worker.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** The password policy, its expensive half in a worker thread: one per service, made by buildDeps. */
export type PasswordPolicy = {
  /**
   * Applies the password policy and returns the NFKC-normalised password, the form to hash and
   * to verify; throws `AppError("WEAK_PASSWORD")` naming the first rule that fails.
   */
  check(password: string, context: PasswordContext, minLength: number): Promise<string>;
  /**
   * The cheap half of `check`, at once: the rules on the password's form (valid text, length)
   * and its NFKC form. A caller may start hashing that form while `check` judges its strength,
   * and must discard the hash if `check` refuses.
   */
  normalise(password: string, minLength: number): string;
  /**
   * Starts the strength worker (if needed) and resolves once its blocklist and dictionaries are
   * loaded, so the first real check is fast. Optional: checks start the worker on demand.
   */
  warmUp(): Promise<void>;
  /** Stops the strength worker (shutdown, tests); pending checks are rejected with a 503. */
  close(): Promise<void>;
};

/** The policy with its worker channel; the worker starts at the first check (or warmUp). */
export function createPasswordPolicy(): PasswordPolicy {
  let channel: Channel | undefined;
  let nextRequestId = 1;

  function normalise(password: string, minLength: number): string {
    if (password.length > MAX_RAW_LENGTH) {
      throw weak(`Password must be at most ${MAX_PASSWORD_LENGTH} characters`);
    }
    // A lone surrogate cannot be encoded as UTF-8 for hashing: it would silently become U+FFFD.
    if (LONE_SURROGATE.test(password)) throw weak("Password must be valid Unicode text");
    const normalised = password.normalize("NFKC");
    const length = countCodePoints(normalised);
    if (length < minLength) throw weak(`Password must be at least ${minLength} characters`);
    if (length > MAX_PASSWORD_LENGTH) {
      throw weak(`Password must be at most ${MAX_PASSWORD_LENGTH} characters`);
    }
    return normalised;
  }

  async function check(
    password: string,
    context: PasswordContext,
    minLength: number,
  ): Promise<string> {
    const normalised = normalise(password, minLength);
    const personal = personalDetailsRule(normalised.toLowerCase(), context);
    const verdict = await strengthInWorker({
      password: normalised,
      userInputs: userInputs(context),
      // Scoring is the expensive part; skip it when a cheaper rule already refuses the password.
      score: personal === undefined,
    });
    if (verdict.blocklisted) {
      throw weak("Password is too common: it appears in lists of frequently used passwords");
    }
    if (personal) throw weak(personal);
    if (verdict.score === null || verdict.score < MIN_STRENGTH_SCORE) {
      // zxcvbn's warning names the weakness it found, e.g. `Repeats like "aaa" are easy to guess`.
      const warning = verdict.warning.replace(/\.$/, "");
      const hint = warning ? ` (${warning.charAt(0).toLowerCase()}${warning.slice(1)})` : "";
      throw weak(
        `Password is too easy to guess${hint}: avoid repeats, sequences, keyboard patterns and common words, or use a longer passphrase`,
      );
    }
    return normalised;
  }

  function openChannel(): Channel {
    if (channel) return channel;
    const worker = spawnWorker();
    // Idle, the worker never keeps the process alive; it is ref'ed only while checks are pending.
    worker.unref();
    let markReady = () => {};
    let markFailed = (_error: Error) => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    // Only warmUp() awaits this; checks learn of a dead worker through their own promise.
    ready.catch(() => {});
    const current: Channel = { worker, pending: new Map(), ready, stallTimer: undefined };
    channel = current;

    worker.on("message", (message: StrengthMessage) => {
      if (message.type === "ready") {
        markReady();
        return;
      }
      const waiter = current.pending.get(message.id);
      if (!waiter) return;
      settled(current, message.id);
      if (message.type === "error") {
        waiter.reject(new Error(`Password strength check failed: ${message.message}`));
      } else {
        waiter.resolve({
          blocklisted: message.blocklisted,
          score: message.score,
          warning: message.warning,
        });
      }
    });
    const fail = (error: Error) => {
      markFailed(error);
      shutChannel(current, error);
    };
    worker.on("error", (error) => fail(error));
    worker.on("exit", (code) =>
      fail(new Error(`Password strength worker exited with code ${code}`)),
    );
    return current;
  }

  function settled(current: Channel, id: number): void {
    current.pending.delete(id);
    if (current.pending.size === 0) {
      current.worker.unref();
      clearTimeout(current.stallTimer);
      current.stallTimer = undefined;
    } else {
      current.stallTimer?.refresh();
    }
  }

  /**
   * Rejects every pending check with a 503 (the next attempt gets a fresh worker, so retrying
   * works) and forgets the worker, so the next check starts a new one.
   */
  function shutChannel(current: Channel, cause: Error): void {
    if (channel === current) channel = undefined;
    clearTimeout(current.stallTimer);
    current.stallTimer = undefined;
    const waiters = [...current.pending.values()];
    current.pending.clear();
    for (const waiter of waiters) {
      waiter.reject(
        new AppError("SERVICE_UNAVAILABLE", "Password check unavailable, retry shortly", {
          retryAfter: 1,
          cause,
        }),
      );
    }
  }

  function strengthInWorker(request: Omit<StrengthRequest, "id">): Promise<StrengthResult> {
    const current = openChannel();
    if (current.pending.size >= MAX_PENDING_CHECKS) {
      return Promise.reject(
        new AppError("SERVICE_UNAVAILABLE", "Server busy, retry shortly", { retryAfter: 1 }),
      );
    }
    const id = nextRequestId++;
    return new Promise<StrengthResult>((resolve, reject) => {
      current.pending.set(id, { resolve, reject });
      if (current.pending.size === 1) {
        current.worker.ref();
        current.stallTimer = setTimeout(() => {
          void current.worker.terminate();
          shutChannel(current, new Error("Password strength worker stopped answering"));
        }, WORKER_STALL_MS);
        current.stallTimer.unref();
      }
      current.worker.postMessage({ id, ...request } satisfies StrengthRequest);
    });
  }

  async function warmUp(): Promise<void> {
    const current = openChannel();
    current.worker.ref();
    try {
      await current.ready;
    } finally {
      if (current.pending.size === 0) current.worker.unref();
    }
  }

  async function close(): Promise<void> {
    const current = channel;
    if (!current) return;
    shutChannel(current, new Error("Password strength worker closed"));
    await current.worker.terminate();
  }

  return { check, normalise, warmUp, close };
}
