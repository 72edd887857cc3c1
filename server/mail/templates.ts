import { z } from "zod";

/** Every kind of mail the outbox holds. */
export const MAIL_KINDS = [
  "verification",
  "invitation",
  "password_reset",
  "email_change",
  "email_changed_notice",
] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export type RenderedMail = { subject: string; text: string; html: string };

/** The stored payload cannot be turned into a mail: retrying will not help. */
export class UnrenderableMailError extends Error {}

/** What `queueTokenMail` stores; the link was built from APP_URL when the mail was queued. */
const ZTokenPayload = z.object({
  link: z.url({ protocol: /^https?$/ }),
  firstName: z.string(),
  expiresInSeconds: z.number().int().positive(),
});

/** What the notice to the old address stores: no token, and the new address only masked. */
export const ZEmailChangedPayload = z.object({
  firstName: z.string(),
  newEmailHint: z.string(),
});
export type TEmailChangedPayload = z.infer<typeof ZEmailChangedPayload>;

type TokenPayload = z.infer<typeof ZTokenPayload>;

type TokenTemplate = {
  subject: string;
  intro: string;
  action: string;
  ignore: string;
};

const TOKEN_TEMPLATES: Record<Exclude<MailKind, "email_changed_notice">, TokenTemplate> = {
  verification: {
    subject: "Confirm your email address",
    intro: "Thanks for signing up. Please confirm that this is your email address.",
    action: "Confirm my email address",
    ignore: "If you did not sign up, you can ignore this mail; no account will be activated.",
  },
  invitation: {
    subject: "You have been invited: choose your password",
    intro: "An account has been created for you. Choose a password to start using it.",
    action: "Accept the invitation",
    ignore: "If you did not expect this invitation, you can ignore this mail.",
  },
  password_reset: {
    subject: "Reset your password",
    intro: "Someone (hopefully you) asked to reset the password of your account.",
    action: "Choose a new password",
    ignore: "If you did not ask for this, you can ignore this mail: your password stays as it is.",
  },
  email_change: {
    subject: "Confirm your new email address",
    intro: "You asked to use this address for your account. Please confirm it.",
    action: "Confirm my new email address",
    ignore: "If you did not ask for this, you can ignore this mail; nothing will change.",
  },
};

/** Builds the subject, plain text and HTML of a queued mail from its kind and stored payload. */
export function renderMail(kind: string, payload: unknown): RenderedMail {
  if (kind === "email_changed_notice") {
    const parsed = ZEmailChangedPayload.safeParse(payload);
    if (!parsed.success) throw new UnrenderableMailError(`Malformed payload for ${kind}`);
    return renderEmailChangedNotice(parsed.data);
  }
  const template = TOKEN_TEMPLATES[kind as keyof typeof TOKEN_TEMPLATES];
  if (!template) throw new UnrenderableMailError(`Unknown mail kind ${kind}`);
  const parsed = ZTokenPayload.safeParse(payload);
  if (!parsed.success) throw new UnrenderableMailError(`Malformed payload for ${kind}`);
  return renderTokenMail(template, parsed.data);
}

function renderTokenMail(template: TokenTemplate, payload: TokenPayload): RenderedMail {
  const validity = `The link works once and is valid for ${duration(payload.expiresInSeconds)}.`;
  const text = [
    `Hello ${payload.firstName},`,
    "",
    template.intro,
    "",
    `${template.action}:`,
    payload.link,
    "",
    validity,
    template.ignore,
  ].join("\n");
  const html = layout(
    template.subject,
    [
      `<p>Hello ${escapeHtml(payload.firstName)},</p>`,
      `<p>${escapeHtml(template.intro)}</p>`,
      `<p><a href="${escapeHtml(payload.link)}" style="${BUTTON}">${escapeHtml(template.action)}</a></p>`,
      `<p style="${SMALL}">If the button does not work, copy this link into your browser:<br>` +
        `<a href="${escapeHtml(payload.link)}">${escapeHtml(payload.link)}</a></p>`,
      `<p style="${SMALL}">${escapeHtml(validity)} ${escapeHtml(template.ignore)}</p>`,
    ].join("\n"),
  );
  return { subject: template.subject, text: `${text}\n`, html };
}

function renderEmailChangedNotice(payload: TEmailChangedPayload): RenderedMail {
  const subject = "Your email address was changed";
  const change = `The email address of your account was changed to ${payload.newEmailHint}. Mail about your account now goes to the new address.`;
  const warning =
    "If you did not make this change, someone else may have access to your account: contact support right away.";
  const text = [`Hello ${payload.firstName},`, "", change, "", warning].join("\n");
  const html = layout(
    subject,
    [
      `<p>Hello ${escapeHtml(payload.firstName)},</p>`,
      `<p>${escapeHtml(change)}</p>`,
      `<p><strong>${escapeHtml(warning)}</strong></p>`,
    ].join("\n"),
  );
  return { subject, text: `${text}\n`, html };
}

/** `a***@example.com`: enough for the owner to recognise, little for anyone else. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 1) return "***";
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

/** 3600 → "1 hour", 86400 → "24 hours", 604800 → "7 days". */
export function duration(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (seconds >= 2 * 86400 && seconds % 86400 === 0) return plural(seconds / 86400, "day");
  if (seconds >= 3600 && seconds % 3600 === 0) return plural(seconds / 3600, "hour");
  return plural(Math.max(1, Math.round(seconds / 60)), "minute");
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

const BUTTON =
  "display:inline-block;padding:10px 18px;background:#1f6feb;color:#ffffff;text-decoration:none;border-radius:6px";
const SMALL = "color:#57606a;font-size:13px";

const layout = (title: string, body: string) =>
  `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head>
<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;line-height:1.5;color:#24292f;max-width:560px;margin:0 auto;padding:24px">
${body}
</body>
</html>
`;
