import { z } from "zod";
import { listEventsAfter } from "../../db/events.ts";
import { appAdminProcedure } from "../../server/trpc.ts";

const ZEvent = z
  .object({
    id: z.string().meta({ description: "Unique; the `webhook-id` of its deliveries" }),
    type: z.string(),
    timestamp: z.iso.datetime(),
    subject: z.string().meta({ example: "user:12" }),
    data: z.record(z.string(), z.unknown()),
    cursor: z.string().meta({ description: "Pass as `after` to continue after this event" }),
  })
  .meta({ id: "Event" });

const ZCursor = z
  .string()
  .regex(/^[0-9]{1,18}$/, "A cursor from an earlier answer (digits)")
  .meta({ example: "0" });

export const listEventsRoute = appAdminProcedure
  .meta({
    openapi: {
      method: "GET",
      path: "/events",
      tags: ["events"],
      summary: "The change feed: events in commit order after a cursor",
      description:
        "Start with `after=0` (or leave it out), then pass the answer's `cursor`: every committed event comes exactly once, in commit order, with no gaps, also while writes go on. An empty page keeps the cursor; poll again later. Events are kept EVENTS_RETENTION_DAYS days.",
    },
    errors: ["UNAUTHORIZED"],
  })
  .input(
    z.strictObject({
      after: ZCursor.default("0"),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
  )
  .output(z.object({ value: z.array(ZEvent), cursor: ZCursor }))
  .query(async ({ ctx, input }) => {
    const events = await listEventsAfter(ctx.db, input.after, input.limit);
    const value = events.map(({ position, ...event }) => ({ ...event, cursor: position }));
    return { value, cursor: value.at(-1)?.cursor ?? input.after };
  });
