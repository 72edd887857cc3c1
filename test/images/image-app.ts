import type { UserRow } from "../../db/users.ts";
import { imagesRouter } from "../../routers/images/router.ts";
import { createContext } from "../../server/context.ts";
import { registerImageRoutes } from "../../server/http/image-routes.ts";
import { createCallerFactory, router } from "../../server/trpc.ts";
import { createTestApp } from "../helpers/test-app.ts";

// Until images are wired into routers/router.ts, a caller of a router holding only them.
const createImagesCaller = createCallerFactory(router({ images: imagesRouter }));

export type ImageTestApp = Awaited<ReturnType<typeof createImageTestApp>>;

/**
 * The test app plus the image routes, unless buildApp registers them already. buildApp neither
 * listens nor calls ready (inject does, on its first call), so routes added here are part of
 * the app like the others.
 */
export async function createImageTestApp(env: Record<string, string> = {}) {
  const t = await createTestApp(env);
  if (!t.app.hasRoute({ method: "POST", url: "/api/users/profile/image" })) {
    await registerImageRoutes(t.app, t.deps);
  }

  /** A tRPC caller of the image procedures acting as the user (or anonymous). */
  async function imagesCallerFor(user?: UserRow) {
    const authorization = user ? `Bearer ${(await t.login(user)).accessToken}` : undefined;
    return createImagesCaller(createContext(t.deps, { authorization })).images;
  }

  return { ...t, imagesCallerFor };
}
