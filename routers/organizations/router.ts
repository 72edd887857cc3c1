import { router } from "../../server/trpc.ts";
import { createOrganizationRoute } from "./create.ts";
import { deleteOrganizationRoute } from "./delete.ts";
import { editOrganizationRoute } from "./edit.ts";
import { getOrganizationRoute } from "./get.ts";
import { listOrganizationsRoute } from "./list.ts";
import { deleteMemberRoute, listMembersRoute, putMemberRoute } from "./members.ts";

export const organizationsRouter = router({
  create: createOrganizationRoute,
  get: getOrganizationRoute,
  edit: editOrganizationRoute,
  delete: deleteOrganizationRoute,
  list: listOrganizationsRoute,
  putMember: putMemberRoute,
  deleteMember: deleteMemberRoute,
  members: listMembersRoute,
});
