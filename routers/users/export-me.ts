import { z } from "zod";
import { findPersonalData, PERSONAL_DATA_LIMIT } from "../../db/personal-data.ts";
import { findProfileImageMeta } from "../../db/profile-images.ts";
import { loadVisibleUser } from "../../server/permissions/permissions.ts";
import { authedProcedure, REST_PREFIX } from "../../server/trpc.ts";
import { ZMembershipRole, ZNoInput } from "../shared-schema.ts";
import { toUser, ZUser } from "./user-schema.ts";

const at = (date: Date) => date.toISOString();
const atOrNull = (date: Date | null) => date?.toISOString() ?? null;

/** Each list holds the newest PERSONAL_DATA_LIMIT entries; `truncated` says when more exist. */
const list = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), truncated: z.boolean() });

const ZPersonalData = z
  .object({
    exportedAt: z.iso.datetime(),
    profile: ZUser,
    sessions: list(
      z.object({
        id: z.number().int(),
        userAgent: z.string().nullable(),
        ip: z.string().nullable(),
        createdAt: z.iso.datetime(),
        lastUsedAt: z.iso.datetime(),
        expiresAt: z.iso.datetime(),
        revokedAt: z.iso.datetime().nullable(),
      }),
    ),
    memberships: list(
      z.object({
        organizationId: z.number().int(),
        organizationName: z.string(),
        role: ZMembershipRole,
        createdAt: z.iso.datetime(),
      }),
    ),
    mail: list(
      z.object({
        id: z.number().int(),
        kind: z.string(),
        recipient: z.string(),
        status: z.enum(["queued", "sent", "abandoned"]),
        createdAt: z.iso.datetime(),
        sentAt: z.iso.datetime().nullable(),
      }),
    ),
    audit: list(
      z.object({
        id: z.number().int(),
        actorId: z.number().int().nullable(),
        action: z.string(),
        targetUserId: z.number().int().nullable(),
        changes: z.record(z.string(), z.unknown()).nullable(),
        createdAt: z.iso.datetime(),
      }),
    ),
    profileImage: z
      .object({
        imageUrl: z.url().meta({ description: "GET it with the same bearer token" }),
        contentType: z.string(),
        width: z.number().int(),
        height: z.number().int(),
        byteSize: z.number().int(),
        uploadedAt: z.iso.datetime(),
      })
      .nullable(),
  })
  .meta({ id: "PersonalData" });

const bounded = <T, U>(rows: T[], map: (row: T) => U) => ({
  items: rows.slice(0, PERSONAL_DATA_LIMIT).map(map),
  truncated: rows.length > PERSONAL_DATA_LIMIT,
});

export const exportMeRoute = authedProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/users/me/export",
      tags: ["users"],
      summary: "Everything the service holds about me (a person's data request)",
      description:
        "The profile, every session (ended ones too), memberships, the mail sent to me (kind, address, status; never its content, which held one-time links), the audit entries about me or by me, and my profile image as a link (fetch it with the same token). Each list holds the newest 1000 entries; `truncated` says when there are more. Password hashes and tokens are never included.",
    },
  })
  .input(ZNoInput)
  .output(ZPersonalData)
  .query(async ({ ctx }) => {
    const user = await loadVisibleUser(ctx.db, ctx.user, { id: ctx.user.id });
    const [data, image] = await Promise.all([
      findPersonalData(ctx.db, user.id),
      findProfileImageMeta(ctx.db, user.id),
    ]);
    return {
      exportedAt: new Date().toISOString(),
      profile: toUser(user),
      sessions: bounded(data.sessions, (s) => ({
        id: s.id,
        userAgent: s.user_agent,
        ip: s.ip,
        createdAt: at(s.created_at),
        lastUsedAt: at(s.last_used_at),
        expiresAt: at(s.expires_at),
        revokedAt: atOrNull(s.revoked_at),
      })),
      memberships: bounded(data.memberships, (m) => ({
        organizationId: m.organization_id,
        organizationName: m.name,
        role: m.role,
        createdAt: at(m.created_at),
      })),
      mail: bounded(data.mail, (m) => ({
        id: m.id,
        kind: m.kind,
        recipient: m.recipient,
        status: m.status,
        createdAt: at(m.created_at),
        sentAt: atOrNull(m.sent_at),
      })),
      audit: bounded(data.audit, (a) => ({
        id: a.id,
        actorId: a.actor_id,
        action: a.action,
        targetUserId: a.target_user_id,
        changes: a.changes,
        createdAt: at(a.created_at),
      })),
      profileImage: image
        ? {
            imageUrl: `${ctx.config.PUBLIC_URL}${REST_PREFIX}/users/${user.id}/profile/image`,
            contentType: image.primary.contentType,
            width: image.width,
            height: image.height,
            byteSize: image.primary.byteSize,
            uploadedAt: at(image.uploadedAt),
          }
        : null,
    };
  });
