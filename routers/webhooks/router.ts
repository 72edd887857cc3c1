import { router } from "../../server/trpc.ts";
import { createWebhookRoute } from "./create.ts";
import { deleteWebhookRoute } from "./delete.ts";
import { editWebhookRoute } from "./edit.ts";
import { getWebhookRoute } from "./get.ts";
import { listWebhooksRoute } from "./list.ts";
import { listDeliveriesRoute } from "./list-deliveries.ts";
import { redeliverRoute } from "./redeliver.ts";
import { rotateWebhookSecretRoute } from "./rotate-secret.ts";

export const webhooksRouter = router({
  create: createWebhookRoute,
  list: listWebhooksRoute,
  get: getWebhookRoute,
  edit: editWebhookRoute,
  delete: deleteWebhookRoute,
  rotateSecret: rotateWebhookSecretRoute,
  deliveries: listDeliveriesRoute,
  redeliver: redeliverRoute,
});
