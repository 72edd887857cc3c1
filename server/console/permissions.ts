// What the console offers the signed-in role. The service decides (server/permissions/); this
// only disables what it would refuse and says why, so nobody meets a 403 by surprise.

import type { Me } from "./api.ts";

type Role = Me["role"];

/** Why `me` may not manage an account of `targetRole`, or undefined when they may. */
export const manageRefusal = (me: Me, targetRole: Role): string | undefined =>
  targetRole !== "User" && me.role !== "AppAdmin"
    ? "Only an AppAdmin manages Admin and AppAdmin accounts"
    : undefined;

/** Why `me` may not change roles, or undefined when they may. */
export const grantRefusal = (me: Me): string | undefined =>
  me.role !== "AppAdmin" ? "Only an AppAdmin changes roles" : undefined;

export const APP_ADMIN_ONLY = "Only an AppAdmin sees this";
