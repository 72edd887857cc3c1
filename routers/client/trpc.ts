import {
  createTRPCClient,
  httpBatchStreamLink,
  type TRPCClient,
  TRPCClientError,
  type TRPCLink,
} from "@trpc/client";
import { observable, type Unsubscribable } from "@trpc/server/observable";
import type { AppRouter } from "../router.ts";
import type { Session } from "./session.ts";

/** Sends a call once more after the session renews, when it was refused for its access token. */
function renewingLink(session: Session): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let current: Unsubscribable | undefined;
        const attempt = (retried: boolean) => {
          // The token the link below reads as it sends (same tick), to tell a stale one later.
          const accessToken = session.tokens?.accessToken;
          current = next(op).subscribe({
            next: (result) => observer.next(result),
            complete: () => observer.complete(),
            error: (error) => {
              if (retried || accessToken === undefined || error.data?.code !== "UNAUTHENTICATED") {
                observer.error(error);
                return;
              }
              session.renew(accessToken).then(
                (renewed) => (renewed === undefined ? observer.error(error) : attempt(true)),
                (cause: unknown) => observer.error(TRPCClientError.from(cause as Error)),
              );
            },
          });
        };
        attempt(false);
        return () => current?.unsubscribe();
      });
}

/**
 * The native door (`/trpc`), typed by `AppRouter`: `trpc.users.me.query()`. Calls of the same
 * tick share one request and each answer streams back as it is ready (tRPC's default link).
 */
export function createTrpcClient(session: Session): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      renewingLink(session),
      httpBatchStreamLink({
        url: `${session.baseUrl}/trpc`,
        fetch: session.fetch,
        headers: () => {
          const accessToken = session.tokens?.accessToken;
          return accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` };
        },
      }),
    ],
  });
}
