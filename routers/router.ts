import { createCallerFactory, router } from "../server/trpc.ts";
import { auditRouter } from "./audit/router.ts";
import { authRouter } from "./auth/router.ts";
import { eventsRouter } from "./events/router.ts";
import { factorsRouter } from "./factors/router.ts";
import { imagesRouter } from "./images/router.ts";
import { organizationsRouter } from "./organizations/router.ts";
import { passkeysRouter } from "./passkeys/router.ts";
import { usersRouter } from "./users/router.ts";
import { webhooksRouter } from "./webhooks/router.ts";

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  organizations: organizationsRouter,
  audit: auditRouter,
  factors: factorsRouter,
  images: imagesRouter,
  passkeys: passkeysRouter,
  events: eventsRouter,
  webhooks: webhooksRouter,
});

/** The type TypeScript clients import for `@trpc/client`. */
export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
