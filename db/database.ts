import type { ColumnType, Generated, Insertable, Updateable } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;

export const ROLES = ["User", "Admin", "AppAdmin"] as const;
export type Role = (typeof ROLES)[number];
export const STATUSES = ["pending", "invited", "active", "suspended", "deleted"] as const;
export type UserStatus = (typeof STATUSES)[number];
export const EMAIL_TOKEN_KINDS = [
  "verification",
  "invitation",
  "password_reset",
  "email_change",
] as const;
export type EmailTokenKind = (typeof EMAIL_TOKEN_KINDS)[number];
export const MAIL_STATUSES = ["queued", "sent", "abandoned"] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];
export const MEMBERSHIP_ROLES = ["Admin", "Member"] as const;
export type MembershipRole = (typeof MEMBERSHIP_ROLES)[number];

export type UsersTable = {
  id: Generated<number>;
  email: string;
  username: string;
  first_name: string;
  last_name: string;
  role: ColumnType<Role, Role | undefined, Role>;
  status: UserStatus;
  email_verified: ColumnType<boolean, boolean | undefined, boolean>;
  password_hash: string | null;
  /** Bumped whenever every access token issued so far must stop working. */
  token_version: ColumnType<number, number | undefined, number>;
  last_login_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  /** What restore brings the user back to. */
  status_before_delete: UserStatus | null;
};

export type SessionsTable = {
  id: Generated<number>;
  user_id: number;
  user_agent: string | null;
  ip: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  revoked_at: NullableTimestamp;
  /** When the user last proved who they are in this session (sign-in or step-up): `auth_time`. */
  authenticated_at: Timestamp;
};

export type RefreshTokensTable = {
  token_hash: string;
  session_id: number;
  created_at: Timestamp;
  spent_at: NullableTimestamp;
};

export type EmailTokensTable = {
  id: Generated<number>;
  user_id: number;
  kind: EmailTokenKind;
  token_hash: string;
  new_email: string | null;
  created_at: Timestamp;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  used_at: NullableTimestamp;
};

export type MailOutboxTable = {
  id: Generated<number>;
  user_id: number | null;
  kind: string;
  recipient: string;
  /** Template data; holds the raw emailed token until the mail is sent, then is cleared. */
  payload: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  message_id: string;
  status: ColumnType<MailStatus, MailStatus | undefined, MailStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: Timestamp;
  sent_at: NullableTimestamp;
};

export type OrganizationsTable = {
  id: Generated<number>;
  name: string;
  parent_id: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
};

export type MembershipsTable = {
  user_id: number;
  organization_id: number;
  role: MembershipRole;
  created_at: Timestamp;
};

export type ProfileImagesTable = {
  user_id: number;
  /** A Buffer from pg, a Uint8Array from PGlite; db/profile-images.ts hands out Buffers. */
  content: Uint8Array;
  content_type: string;
  /** The content's hash, unquoted. */
  etag: string;
  width: number;
  height: number;
  byte_size: number;
  uploaded_at: Timestamp;
  /** The JPEG/PNG variant; null for images stored before it existed (derived on first need). */
  fallback_content: Uint8Array | null;
  fallback_content_type: string | null;
  fallback_etag: string | null;
  fallback_byte_size: number | null;
};

export type RateLimitsTable = {
  key: string;
  count: number;
  window_start: Timestamp;
};

export type AuditLogTable = {
  id: Generated<number>;
  actor_id: number | null;
  action: string;
  target_user_id: number | null;
  target_organization_id: number | null;
  /** What changed (field names and new values), never secrets. */
  changes: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  created_at: Timestamp;
};

/** Live (not soft-deleted) users per status, kept by triggers on users; written by nothing else. */
export type LiveUserCountsTable = {
  status: UserStatus;
  users: number;
};

export type TotpFactorsTable = {
  user_id: number;
  /** The secret, encrypted by server/auth/second-factor/secret-box.ts; never leaves the service. */
  secret_ciphertext: string;
  /** Null until the first valid code confirms the enrolment. */
  confirmed_at: NullableTimestamp;
  /** The last 30-second step whose code was accepted: no code of it or before is accepted again. */
  last_used_step: number | null;
  last_used_at: NullableTimestamp;
  created_at: Timestamp;
};

export type RecoveryCodesTable = {
  id: Generated<number>;
  user_id: number;
  /** A keyed hash of the code; the code itself is shown once. */
  code_hash: string;
  created_at: Timestamp;
  used_at: NullableTimestamp;
};

/** Between a right password and its second factor: single use, short-lived, few attempts. */
export type SecondFactorChallengesTable = {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  attempts: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  used_at: NullableTimestamp;
};

export const WEBAUTHN_PURPOSES = ["registration", "sign-in", "second-factor"] as const;
export type WebauthnPurpose = (typeof WEBAUTHN_PURPOSES)[number];

export type PasskeysTable = {
  id: Generated<number>;
  user_id: number;
  /** base64url, as WebAuthn's JSON carries it. */
  credential_id: string;
  /** The COSE public key; a Buffer from pg, a Uint8Array from PGlite. */
  public_key: Uint8Array;
  /** The authenticator's sign counter (a uint32; bigint comes back as a string from pg). */
  counter: ColumnType<string | number | bigint, number | undefined, number>;
  /** Comma-separated transport hints (`internal,hybrid`). */
  transports: ColumnType<string, string | undefined, string>;
  /** The WebAuthn user.id (base64url) this credential was made for. */
  user_handle: string;
  name: string;
  backed_up: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
};

export type WebauthnChallengesTable = {
  /** sha256 of the challenge, hex: the challenge itself is never stored. */
  challenge_hash: string;
  purpose: WebauthnPurpose;
  /** The user a registration or second-factor ceremony is bound to; null for a sign-in. */
  user_id: number | null;
  /** Registration: the WebAuthn user.id the options named. */
  user_handle: string | null;
  expires_at: ColumnType<Date, Date | string, Date | string>;
};

export const IMPORT_STATUSES = ["receiving", "queued", "running", "succeeded", "failed"] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

export type ImportJobsTable = {
  id: Generated<number>;
  created_by: number | null;
  format: "ndjson" | "csv";
  dry_run: boolean;
  status: ImportStatus;
  total_rows: ColumnType<number, number | undefined, number>;
  processed_rows: ColumnType<number, number | undefined, number>;
  imported_rows: ColumnType<number, number | undefined, number>;
  rejected_rows: ColumnType<number, number | undefined, number>;
  /** Staged rows before this line are handled (committed with them): where a resume starts. */
  next_line: ColumnType<number, number | undefined, number>;
  error: string | null;
  heartbeat_at: Timestamp;
  created_at: Timestamp;
  finished_at: NullableTimestamp;
};

export type EventsTable = {
  id: Generated<string>;
  public_id: Generated<string>;
  type: string;
  /** `user:12`, `organization:3`, `membership:3:12`: what per-subject delivery order keys on. */
  subject: string;
  data: ColumnType<Record<string, unknown>, string, string>;
  occurred_at: Timestamp;
  /** The feed position, drawn at commit (migration 2026-11-28T1650); null only before it. */
  position: ColumnType<string | null, never, never>;
};

export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export type WebhookEndpointsTable = {
  id: Generated<number>;
  url: string;
  description: ColumnType<string, string | undefined, string>;
  event_types: string[];
  /** The signing key (`whsec_…`): it must be read to sign, so it is stored as is. */
  secret: string;
  /** The key before the last rotation: deliveries carry both signatures until it expires. */
  previous_secret: string | null;
  previous_secret_expires_at: NullableTimestamp;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  disabled_reason: string | null;
  /** Since when every attempt has failed (null after a success). */
  failing_since: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
};

export type WebhookDeliveriesTable = {
  id: Generated<string>;
  endpoint_id: number;
  event_id: string;
  subject: string;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Timestamp;
  finished_at: NullableTimestamp;
};

export type ImportRowsTable = {
  job_id: number;
  line: number;
  /** lower(email) and lower(username): in-file duplicates are found by these. */
  email_key: string | null;
  username_key: string | null;
  /** The validated row (server/porting/import-row.ts); null once rejected. */
  data: ColumnType<unknown, string | null, string | null>;
  /** Why the row was rejected; null while it may still be imported. */
  error: string | null;
};

export type Database = {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  email_tokens: EmailTokensTable;
  mail_outbox: MailOutboxTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
  profile_images: ProfileImagesTable;
  rate_limits: RateLimitsTable;
  audit_log: AuditLogTable;
  live_user_counts: LiveUserCountsTable;
  totp_factors: TotpFactorsTable;
  recovery_codes: RecoveryCodesTable;
  second_factor_challenges: SecondFactorChallengesTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  import_jobs: ImportJobsTable;
  import_rows: ImportRowsTable;
  events: EventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
};

export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
