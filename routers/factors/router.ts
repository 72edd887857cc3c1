import { router } from "../../server/trpc.ts";
import { confirmTotpRoute } from "./confirm-totp.ts";
import { enrolTotpRoute } from "./enrol-totp.ts";
import { listMyFactorsRoute } from "./list-mine.ts";
import { listUserFactorsRoute } from "./list-user.ts";
import { regenerateRecoveryCodesRoute } from "./regenerate-recovery-codes.ts";
import { removeTotpRoute } from "./remove-totp.ts";
import { resetUserFactorsRoute } from "./reset-user.ts";

export const factorsRouter = router({
  mine: listMyFactorsRoute,
  enrolTotp: enrolTotpRoute,
  confirmTotp: confirmTotpRoute,
  removeTotp: removeTotpRoute,
  regenerateRecoveryCodes: regenerateRecoveryCodesRoute,
  ofUser: listUserFactorsRoute,
  reset: resetUserFactorsRoute,
});
