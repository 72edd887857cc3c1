import type { Migration, MigrationProvider } from "kysely";
import * as initial from "./2026-11-26T0800-initial.ts";
import * as profileImages from "./2026-11-26T0900-profile-images.ts";
import * as listingIndexes from "./2026-11-26T0910-listing-indexes.ts";
import * as rateLimitsAudit from "./2026-11-26T0920-rate-limits-audit.ts";
import * as authStateNotify from "./2026-11-26T1000-auth-state-notify.ts";
import * as coveringListIndexes from "./2026-11-26T1010-covering-list-indexes.ts";
import * as profileImageFallbacks from "./2026-11-28T1200-profile-image-fallbacks.ts";
import * as liveUserCounts from "./2026-11-28T1450-live-user-counts.ts";
import * as secondFactors from "./2026-11-28T1630-second-factors.ts";
import * as passkeys from "./2026-11-28T1640-passkeys.ts";
import * as eventsWebhooks from "./2026-11-28T1650-events-webhooks.ts";
import * as imports from "./2026-11-28T1700-imports.ts";

/** Every migration, by name (names sort in the order they apply). Add new ones here. */
const migrations: Record<string, Migration> = {
  "2026-11-26T0800-initial": initial,
  "2026-11-26T0900-profile-images": profileImages,
  "2026-11-26T0910-listing-indexes": listingIndexes,
  "2026-11-26T0920-rate-limits-audit": rateLimitsAudit,
  "2026-11-26T1000-auth-state-notify": authStateNotify,
  "2026-11-26T1010-covering-list-indexes": coveringListIndexes,
  "2026-11-28T1200-profile-image-fallbacks": profileImageFallbacks,
  "2026-11-28T1450-live-user-counts": liveUserCounts,
  "2026-11-28T1630-second-factors": secondFactors,
  "2026-11-28T1640-passkeys": passkeys,
  "2026-11-28T1650-events-webhooks": eventsWebhooks,
  "2026-11-28T1700-imports": imports,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
