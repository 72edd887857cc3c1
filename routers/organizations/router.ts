import { router } from "../../server/trpc.ts";
import { createOrganizationRoute } from "./create.ts";
import { deleteOrganizationRoute } from "./delete.ts";
import { deleteMemberRoute } from "./delete-member.ts";
import { editOrganizationRoute } from "./edit.ts";
import { getOrganizationRoute } from "./get.ts";
import { listOrganizationsRoute } from "./list.ts";
import { listMembersRoute } from "./list-members.ts";
import { putMemberRoute } from "./put-member.ts";

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
