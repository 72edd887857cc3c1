import { router } from "../../server/trpc.ts";
import { acceptInvitationRoute } from "./accept-invitation.ts";
import { accessibleOrganizationsRoute } from "./accessible-organizations.ts";
import { changeEmailRoute } from "./change-email.ts";
import { confirmVerificationRoute } from "./confirm-verification.ts";
import { createUserRoute } from "./create.ts";
import { deleteUserRoute } from "./delete.ts";
import { deleteMeRoute } from "./delete-me.ts";
import { editUserRoute } from "./edit.ts";
import { endSessionRoute } from "./end-session.ts";
import { exportUsersRoute } from "./export.ts";
import { exportMeRoute } from "./export-me.ts";
import { getUserRoute } from "./get.ts";
import { importUsersRoute } from "./import.ts";
import { importStatusRoute } from "./import-status.ts";
import { listUsersRoute } from "./list.ts";
import { listSessionsRoute } from "./list-sessions.ts";
import { meRoute } from "./me.ts";
import { reissueInvitationRoute } from "./reissue-invitation.ts";
import { reissueVerificationRoute } from "./reissue-verification.ts";
import { restoreUserRoute } from "./restore.ts";
import { setOwnPasswordRoute } from "./set-own-password.ts";
import { setPasswordRoute } from "./set-password.ts";
import { signupRoute } from "./signup.ts";
import { updateMeRoute } from "./update-me.ts";
import { userMailRoute } from "./user-mail.ts";

export const usersRouter = router({
  signup: signupRoute,
  list: listUsersRoute,
  me: meRoute,
  updateMe: updateMeRoute,
  get: getUserRoute,
  create: createUserRoute,
  edit: editUserRoute,
  delete: deleteUserRoute,
  restore: restoreUserRoute,
  setOwnPassword: setOwnPasswordRoute,
  setPassword: setPasswordRoute,
  reissueVerification: reissueVerificationRoute,
  reissueInvitation: reissueInvitationRoute,
  accessibleOrganizations: accessibleOrganizationsRoute,
  sessions: listSessionsRoute,
  endSession: endSessionRoute,
  confirmVerification: confirmVerificationRoute,
  acceptInvitation: acceptInvitationRoute,
  changeEmail: changeEmailRoute,
  mail: userMailRoute,
  importUsers: importUsersRoute,
  importStatus: importStatusRoute,
  exportUsers: exportUsersRoute,
  exportMe: exportMeRoute,
  deleteMe: deleteMeRoute,
});
