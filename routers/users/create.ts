import { z } from "zod";
import { createAccount } from "../../server/accounts/accounts.ts";
import { audit } from "../../server/permissions/audit.ts";
import { requireMayGrant } from "../../server/permissions/permissions.ts";
import { adminProcedure } from "../../server/trpc.ts";
import { ZEmail, ZPassword } from "../shared-schema.ts";
import { toUser, ZName, ZRole, ZUser, ZUsername } from "./user-schema.ts";

export const ZCreateUserInput = z.strictObject({
  email: ZEmail,
  firstName: ZName,
  lastName: ZName,
  username: ZUsername.optional(),
  role: ZRole.default("User"),
  password: ZPassword.optional().meta({
    description: "Optional temporary password; the invitation lets the user set their own",
  }),
});

export const createUserRoute = adminProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/users",
      tags: ["users"],
      summary: "Create a user (status invited; an invitation mail is sent)",
    },
    successStatus: 201,
    errors: ["WEAK_PASSWORD", "UNAUTHORIZED", "EMAIL_TAKEN", "USERNAME_TAKEN"],
  })
  .input(ZCreateUserInput)
  .output(ZUser)
  .mutation(async ({ ctx, input }) => {
    requireMayGrant(ctx.user, input.role);
    const user = await createAccount(ctx, { ...input, status: "invited" });
    await audit(ctx, "user.create", { userId: user.id }, { email: user.email, role: user.role });
    return toUser(user);
  });
