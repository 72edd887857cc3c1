import { router } from "../../server/trpc.ts";
import { linkStateRoute } from "./link-state.ts";
import { logoutRoute } from "./logout.ts";
import { logoutAllRoute } from "./logout-all.ts";
import { passwordResetRoute } from "./password-reset.ts";
import { passwordResetConfirmRoute } from "./password-reset-confirm.ts";
import { refreshRoute } from "./refresh.ts";
import { secondFactorRoute } from "./second-factor.ts";
import { secondFactorPasskeyOptionsRoute } from "./second-factor-passkey-options.ts";
import { stepUpRoute } from "./step-up.ts";
import { stepUpPasskeyOptionsRoute } from "./step-up-passkey-options.ts";
import { tokenRoute } from "./token.ts";

export const authRouter = router({
  token: tokenRoute,
  secondFactor: secondFactorRoute,
  secondFactorPasskeyOptions: secondFactorPasskeyOptionsRoute,
  stepUp: stepUpRoute,
  stepUpPasskeyOptions: stepUpPasskeyOptionsRoute,
  refresh: refreshRoute,
  logout: logoutRoute,
  logoutAll: logoutAllRoute,
  passwordReset: passwordResetRoute,
  passwordResetConfirm: passwordResetConfirmRoute,
  linkState: linkStateRoute,
});
