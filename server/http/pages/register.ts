import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { FastifyInstance, FastifyReply } from "fastify";

/**
 * The pages' own CSP (the API's answers keep `default-src 'none'`): scripts, styles,
 * the icon and fetches from this origin only, nothing inline, no framing, forms post nowhere else.
 */
export const PAGES_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The pages mails link to (APP_URL + path, see server/mail/token-mail.ts), and the passkeys page,
 * by path: each file holds what goes inside layout.html's card.
 */
export const PAGES = {
  "/verify-email": { page: "verify-email", title: "Confirm your email address" },
  "/accept-invitation": { page: "accept-invitation", title: "Accept your invitation" },
  "/reset-password": { page: "reset-password", title: "Choose a new password" },
  // Not linked from mails: where a person signs in with a passkey and manages theirs.
  "/passkeys": { page: "passkeys", title: "Your passkeys" },
} as const;

const ASSETS = {
  "/pages/pages.js": { file: "pages.js", type: "text/javascript; charset=utf-8" },
  "/pages/pages.css": { file: "pages.css", type: "text/css; charset=utf-8" },
  "/pages/icon.svg": { file: "icon.svg", type: "image/svg+xml" },
} as const;

// From source the files sit beside this module; in the build (dist/main.js, see scripts/build.ts)
// they are copied to dist/pages/.
const PAGES_DIR = new URL(import.meta.url.endsWith(".ts") ? "./" : "./pages/", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, PAGES_DIR), "utf8");

/** Replaces `{{name}}` placeholders; an unknown one is a bug in the page, so start-up fails. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`server/http/pages: no value for {{${name}}}`);
    return value;
  });
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  '"': "&quot;",
  "'": "&#39;",
  "<": "&lt;",
  ">": "&gt;",
};

/** For a setting placed in an attribute: a URL may hold `&` or quotes. */
const escapeHtml = (text: string) => text.replace(/[&"'<>]/g, (c) => HTML_ESCAPES[c] as string);

/**
 * Serves the landing pages (`GET /verify-email`, `/accept-invitation`, `/reset-password`,
 * `/passkeys`) and
 * their static script, style and icon. The files are read once, here, at start-up. A GET only
 * returns HTML: the token is sent to the API by the page's script when the person submits.
 */
export function registerPages(app: FastifyInstance): void {
  const assets = Object.entries(ASSETS).map(([path, { file, type }]) => ({
    path,
    type,
    body: read(file),
  }));
  // Asset URLs carry a hash of their content, so they can be cached for good.
  const assetVersion = createHash("sha256")
    .update(assets.map((asset) => asset.body).join("\0"))
    .digest("hex")
    .slice(0, 12);
  const minLength = String(app.deps.config.PASSWORD_MIN_LENGTH);
  const passwordFields = fill(read("password-fields.html"), { minLength });
  const layout = read("layout.html");
  const signInUrl = escapeHtml(app.deps.config.SIGN_IN_URL);

  for (const [path, { page, title }] of Object.entries(PAGES)) {
    const content = fill(read(`${page}.html`), { passwordFields, minLength });
    const html = fill(layout, { assetVersion, page, title, content, signInUrl });
    app.get(path, (_req, reply) => sendPage(reply, html));
  }
  for (const asset of assets) {
    app.get(asset.path, (_req, reply) =>
      reply
        .header("content-type", asset.type)
        .header("cache-control", "public, max-age=31536000, immutable")
        .send(asset.body),
    );
  }
}

function sendPage(reply: FastifyReply, html: string) {
  return (
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header("content-security-policy", PAGES_CSP)
      // The URL holds a token: keep the page out of caches, search engines and Referer headers.
      .header("cache-control", "no-store")
      .header("referrer-policy", "no-referrer")
      .header("x-robots-tag", "noindex, nofollow")
      .send(html)
  );
}
