import { z } from "zod";
import { redeliver } from "../../db/webhooks.ts";
import { AppError } from "../../server/errors/api-errors.ts";
import { audit } from "../../server/permissions/audit.ts";
import { appAdminProcedure } from "../../server/trpc.ts";
import { ZId } from "../shared-schema.ts";
import { loadEndpoint } from "./webhook-schema.ts";

export const redeliverRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "POST",
      path: "/webhooks/{id}/deliveries/{deliveryId}/redeliver",
      tags: ["webhooks"],
      summary: "Send a delivery's event to the endpoint again (as a new delivery, same webhook-id)",
    },
    successStatus: 202,
    errors: ["UNAUTHORIZED", "NOT_FOUND"],
  })
  .input(
    z.strictObject({
      id: ZId,
      deliveryId: ZId,
    }),
  )
  .output(z.object({ deliveryId: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    await loadEndpoint(ctx.db, input.id);
    const deliveryId = await ctx.db.transaction().execute(async (tx) => {
      const id = await redeliver(tx, input.id, String(input.deliveryId));
      if (!id) throw new AppError("NOT_FOUND", "No such delivery for this endpoint");
      await audit(
        { ...ctx, db: tx },
        "webhook.redeliver",
        {},
        {
          endpointId: input.id,
          deliveryId: input.deliveryId,
        },
      );
      return id;
    });
    return { deliveryId: Number(deliveryId) };
  });
