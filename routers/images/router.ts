import { router } from "../../server/trpc.ts";
import { deleteProfileImageRoute } from "./delete.ts";
import { getProfileImageRoute } from "./get.ts";
import { getUserProfileImageRoute } from "./get-user.ts";
import { uploadProfileImageRoute } from "./upload.ts";

export const imagesRouter = router({
  uploadProfileImage: uploadProfileImageRoute,
  getProfileImage: getProfileImageRoute,
  getUserProfileImage: getUserProfileImageRoute,
  deleteProfileImage: deleteProfileImageRoute,
});
