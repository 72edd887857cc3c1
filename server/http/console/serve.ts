import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { AppError } from "../../errors/api-errors.ts";
import { sendRestError } from "../error-reply.ts";
import { PAGES_CSP } from "../pages/register.ts";

/** Where the console's page and assets are served. */
export const CONSOLE_PATH = "/admin";
const ASSETS_PATH = `${CONSOLE_PATH}/assets`;

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/**
 * The built console (scripts/build-console.ts): `index.html` and, under `assets/`, files whose
 * names carry a hash of their content. From source that is dist/console/ at the project's root;
 * in the build (dist/main.js) it sits beside the bundle. CONSOLE_DIR names another.
 */
export function consoleDir(setting: string | undefined): string {
  if (setting) return setting;
  const fromSource = import.meta.url.endsWith(".ts");
  return fileURLToPath(
    new URL(fromSource ? "../../../dist/console/" : "./console/", import.meta.url),
  );
}

/**
 * Serves the admin console: `GET /admin` its page, `GET /admin/assets/<name>-<hash>.<ext>` its
 * script and style (cached for good). The files are read once, at start-up; the server never
 * imports the console's code, it only serves what the build made. Unbuilt, `/admin` answers 503.
 */
export function registerConsoleFiles(app: FastifyInstance, dir: string): void {
  const index = join(dir, "index.html");
  if (!existsSync(index)) {
    app.get(CONSOLE_PATH, (_req, reply) =>
      sendRestError(
        reply,
        new AppError(
          "SERVICE_UNAVAILABLE",
          "The admin console is not built: run `npm run build` (npm start does)",
        ),
      ),
    );
    return;
  }
  const html = readFileSync(index, "utf8");
  app.get(CONSOLE_PATH, (_req, reply) =>
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header("content-security-policy", PAGES_CSP)
      .header("cache-control", "no-store")
      .header("referrer-policy", "no-referrer")
      .header("x-robots-tag", "noindex, nofollow")
      .send(html),
  );
  const assetsDir = join(dir, "assets");
  for (const name of readdirSync(assetsDir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(assetsDir, name));
    app.get(`${ASSETS_PATH}/${name}`, (_req, reply) =>
      reply
        .header("content-type", type)
        .header("cache-control", "public, max-age=31536000, immutable")
        .send(body),
    );
  }
}
