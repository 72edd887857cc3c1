import { router } from "../../server/trpc.ts";
import { listPasskeysRoute } from "./list.ts";
import { userPasskeysRoute } from "./list-of-user.ts";
import { registerPasskeyRoute } from "./register.ts";
import { registrationOptionsRoute } from "./registration-options.ts";
import { removePasskeyRoute } from "./remove.ts";
import { renamePasskeyRoute } from "./rename.ts";
import { passkeySignInRoute } from "./sign-in.ts";
import { signInOptionsRoute } from "./sign-in-options.ts";

export const passkeysRouter = router({
  registrationOptions: registrationOptionsRoute,
  register: registerPasskeyRoute,
  list: listPasskeysRoute,
  rename: renamePasskeyRoute,
  remove: removePasskeyRoute,
  ofUser: userPasskeysRoute,
  signInOptions: signInOptionsRoute,
  signIn: passkeySignInRoute,
});
