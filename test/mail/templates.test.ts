import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  duration,
  MAIL_KINDS,
  maskEmail,
  renderMail,
  UnrenderableMailError,
} from "../../server/mail/templates.ts";
import { createMailTransport, type MailLog } from "../../server/mail/transport.ts";
import { parseMail } from "../helpers/mail-harness.ts";

const LINK = "https://app.example.test/verify-email?token=abc_DEF-123";
const tokenPayload = { link: LINK, firstName: "Ada", expiresInSeconds: 86400 };

describe("mail templates", () => {
  it.each([
    ["verification", "Confirm your email address", "24 hours"],
    ["invitation", "You have been invited: choose your password", "7 days"],
    ["password_reset", "Reset your password", "1 hour"],
    ["email_change", "Confirm your new email address", "24 hours"],
  ])("%s: subject, the link in both parts and how long it is valid", (kind, subject, valid) => {
    const seconds = { "24 hours": 86400, "7 days": 604800, "1 hour": 3600 }[valid] as number;
    const mail = renderMail(kind, { ...tokenPayload, expiresInSeconds: seconds });
    expect(mail.subject).toBe(subject);
    expect(mail.text).toContain("Hello Ada,");
    expect(mail.text).toContain(LINK);
    expect(mail.text).toContain(`valid for ${valid}`);
    expect(mail.html).toContain(`href="${LINK}"`);
    expect(mail.html).toContain(`valid for ${valid}`);
  });

  it("escapes every interpolated value in the HTML part", () => {
    const mail = renderMail("verification", {
      ...tokenPayload,
      firstName: `<script>alert("x")</script> & 'co'`,
      link: "https://app.example.test/verify-email?token=a&b=<c>",
    });
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;",
    );
    expect(mail.html).toContain(
      'href="https://app.example.test/verify-email?token=a&amp;b=&lt;c&gt;"',
    );
  });

  it("the notice to the old address carries no link and only a masked new address", () => {
    const mail = renderMail("email_changed_notice", {
      firstName: "Ada",
      newEmailHint: maskEmail("new.ada@example.org"),
    });
    expect(mail.subject).toBe("Your email address was changed");
    expect(mail.text).toContain("n***@example.org");
    expect(mail.text).not.toContain("new.ada");
    expect(mail.text).not.toMatch(/https?:\/\//);
    expect(mail.html).not.toMatch(/href=/);
  });

  it("refuses an unknown kind or a malformed payload as unrenderable", () => {
    expect(() => renderMail("newsletter", tokenPayload)).toThrow(UnrenderableMailError);
    expect(() => renderMail("verification", null)).toThrow(UnrenderableMailError);
    expect(() =>
      renderMail("verification", { ...tokenPayload, link: "javascript:alert(1)" }),
    ).toThrow(UnrenderableMailError);
    expect(MAIL_KINDS).toContain("email_changed_notice");
  });

  it("says durations the way people do", () => {
    expect(duration(3600)).toBe("1 hour");
    expect(duration(86400)).toBe("24 hours");
    expect(duration(7 * 86400)).toBe("7 days");
    expect(duration(900)).toBe("15 minutes");
  });
});

describe("local transports (no SMTP_URL)", () => {
  const mail = {
    id: 42,
    kind: "verification",
    to: "ada@example.com",
    messageId: "<fixed-id@example.test>",
    ...renderMail("verification", tokenPayload),
    link: LINK,
  };

  it("writes each mail as DATA_DIR/mail/<timestamp>-<kind>-<id>.eml and, in development, logs one line with the link", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "mail-"));
    try {
      const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
      const transport = createMailTransport(
        {
          DATA_DIR: dataDir,
          MAIL_FROM: "Users API <no-reply@example.test>",
          SMTP_URL: undefined,
          NODE_ENV: "development",
        },
        log as unknown as MailLog,
      );
      expect(transport.mode).toBe("file");
      await transport.send(mail);
      const files = await readdir(join(dataDir, "mail"));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^\d{8}T\d{9}Z-verification-42\.eml$/);
      const parsed = parseMail(await readFile(join(dataDir, "mail", files[0] as string), "utf8"));
      expect(parsed.messageId).toBe("<fixed-id@example.test>");
      expect(parsed.to).toBe("ada@example.com");
      expect(parsed.from).toBe("Users API <no-reply@example.test>");
      expect(parsed.text).toContain(LINK);
      expect(log.info).toHaveBeenCalledTimes(1);
      expect(log.info.mock.calls[0]?.[0]).toMatchObject({
        to: "ada@example.com",
        kind: "verification",
        link: LINK,
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("keeps mails in memory when DATA_DIR is memory://", async () => {
    const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const transport = createMailTransport(
      {
        DATA_DIR: "memory://",
        MAIL_FROM: "Users API <no-reply@example.test>",
        SMTP_URL: undefined,
        NODE_ENV: "development",
      },
      log as unknown as MailLog,
    );
    await transport.send(mail);
    expect(transport.mode).toBe("memory");
    expect(transport.messages).toHaveLength(1);
    expect(parseMail(transport.messages[0]?.raw ?? "").subject).toBe("Confirm your email address");
    expect(log.info).not.toHaveBeenCalled();
  });
});
