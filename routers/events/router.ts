import { router } from "../../server/trpc.ts";
import { listEventsRoute } from "./list.ts";

export const eventsRouter = router({ list: listEventsRoute });
