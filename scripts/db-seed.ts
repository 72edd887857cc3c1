// npm run db:seed — fills the configured database with a demo organization tree and users you
// can log in as, and prints their credentials. Idempotent: what exists is left as it is.
// Goes through the service's own procedures (createCaller) and db/ query functions, so every
// rule (password policy, hashing, permissions) applies as it does over HTTP.
// Refuses when NODE_ENV=production.

import { migrateToLatest, openDatabase } from "../db/open.ts";
import { findUserByEmail, insertUser } from "../db/users.ts";
import { isTokenPair } from "../routers/client/session.ts";
import { createCaller } from "../routers/router.ts";
import { hashNewPassword } from "../server/accounts/accounts.ts";
import { ensureFirstAdmin } from "../server/accounts/first-admin.ts";
import { ConfigError, loadConfig } from "../server/config.ts";
import { createContext } from "../server/context.ts";
import { buildDeps, closeDeps } from "../server/deps.ts";
import { refuseWhenInUse } from "./refuse-when-in-use.ts";

/** Every demo account's password: local development only. */
const DEMO_PASSWORD = "demo-lantern-orchard-4821";
const ADMIN_EMAIL = "admin@example.com";

type Role = "User" | "Admin" | "AppAdmin";
type DemoUser = { email: string; firstName: string; lastName: string; role: Role };

// The tree from the README: Acme > Engineering > Platform, Acme > Sales, and Other Corp.
const ORGANIZATIONS = [
  { name: "Acme", parent: null },
  { name: "Engineering", parent: "Acme" },
  { name: "Platform", parent: "Engineering" },
  { name: "Sales", parent: "Acme" },
  { name: "Other Corp", parent: null },
] as const;

const USERS: DemoUser[] = [
  { email: "dana@example.com", firstName: "Dana", lastName: "Admin", role: "Admin" },
  { email: "alice@example.com", firstName: "Alice", lastName: "Anders", role: "User" },
  { email: "bob@example.com", firstName: "Bob", lastName: "Berg", role: "User" },
  { email: "carol@example.com", firstName: "Carol", lastName: "Chen", role: "User" },
];

const MEMBERSHIPS = [
  { email: "alice@example.com", organization: "Acme", role: "Member" },
  { email: "alice@example.com", organization: "Engineering", role: "Admin" },
  { email: "bob@example.com", organization: "Platform", role: "Member" },
  { email: "carol@example.com", organization: "Other Corp", role: "Member" },
] as const;

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
if (config.NODE_ENV === "production") {
  console.error("db:seed refuses to run with NODE_ENV=production");
  process.exit(1);
}

const database = await refuseWhenInUse(() =>
  openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR }),
);
// The procedures run on the service's own deps; no HTTP app is needed for calling them.
const deps = await buildDeps(config, { database });
const step = (done: "created" | "exists", what: string) =>
  console.log(
    `  ${done === "created" ? "+" : "="} ${what}${done === "exists" ? ", already there" : ""}`,
  );

try {
  console.log(
    `seeding ${database.kind === "pglite" ? `PGlite in ${config.DATA_DIR}` : "PostgreSQL"}`,
  );
  await migrateToLatest(database.db);

  console.log("accounts");
  const admin = await ensureFirstAdmin({
    ...deps,
    config: { ...config, ADMIN_EMAIL, ADMIN_PASSWORD: DEMO_PASSWORD },
    log: { info() {} },
  });
  step(admin === "created" ? "created" : "exists", `${ADMIN_EMAIL} (AppAdmin)`);
  const ids = new Map<string, number>();
  for (const user of USERS) {
    const existing = await findUserByEmail(database.db, user.email);
    if (existing) {
      ids.set(user.email, existing.id);
      step("exists", `${user.email} (${existing.role})`);
      continue;
    }
    // Active and verified, as if they had followed their mail: no mail is queued for them.
    const username = user.email.split("@")[0] as string;
    const created = await insertUser(database.db, {
      email: user.email,
      username,
      first_name: user.firstName,
      last_name: user.lastName,
      role: user.role,
      status: "active",
      email_verified: true,
      password_hash: await hashNewPassword(deps, DEMO_PASSWORD, { ...user, username }),
    });
    ids.set(user.email, created.id);
    step("created", `${user.email} (${user.role})`);
  }

  // The rest as the AppAdmin, through the procedures.
  const anonymous = createCaller(createContext(deps));
  const signedIn = await anonymous.auth.token({ email: ADMIN_EMAIL, password: DEMO_PASSWORD });
  if (!isTokenPair(signedIn)) {
    throw new Error(`${ADMIN_EMAIL} has a second factor (or must enrol one): cannot seed as them`);
  }
  const { accessToken } = signedIn;
  const api = createCaller(createContext(deps, { authorization: `Bearer ${accessToken}` }));

  console.log("organizations");
  const existing = (await api.organizations.list({ $top: 1000 })).value;
  const orgIds = new Map<string, number>();
  for (const org of ORGANIZATIONS) {
    const parentId = org.parent === null ? null : (orgIds.get(org.parent) ?? null);
    const found = existing.find((o) => o.name === org.name && o.parentId === parentId);
    const id =
      found?.id ??
      (await api.organizations.create({ name: org.name, ...(parentId !== null && { parentId }) }))
        .id;
    orgIds.set(org.name, id);
    step(found ? "exists" : "created", `${org.parent ? `${org.parent} > ` : ""}${org.name}`);
  }

  console.log("memberships");
  for (const membership of MEMBERSHIPS) {
    await api.organizations.putMember({
      id: orgIds.get(membership.organization) as number,
      userId: ids.get(membership.email) as number,
      role: membership.role,
    });
    // An upsert: running the seed again leaves the same role.
    console.log(`  ~ ${membership.email}: ${membership.role} of ${membership.organization}`);
  }

  // Two accounts waiting on their mail, to try the pages the mails link to.
  console.log("accounts waiting on a mail");
  const pendingEmail = "erin@example.com";
  if (await findUserByEmail(database.db, pendingEmail)) step("exists", `${pendingEmail} (pending)`);
  else {
    await anonymous.users.signup({
      email: pendingEmail,
      password: DEMO_PASSWORD,
      firstName: "Erin",
      lastName: "Pending",
    });
    step("created", `${pendingEmail} (pending: verification mail queued)`);
  }
  const invitedEmail = "frank@example.com";
  if (await findUserByEmail(database.db, invitedEmail)) step("exists", `${invitedEmail} (invited)`);
  else {
    await api.users.create({ email: invitedEmail, firstName: "Frank", lastName: "Invited" });
    step("created", `${invitedEmail} (invited: invitation mail queued)`);
  }

  console.log(`
Log in with any of these (password for all: ${DEMO_PASSWORD}):
  ${ADMIN_EMAIL.padEnd(20)} AppAdmin
${USERS.map((u) => `  ${u.email.padEnd(20)} ${u.role}`).join("\n")}
  ${pendingEmail.padEnd(20)} User, pending (can log in; confirm with the link in its mail)
frank@example.com has no password yet: accept the invitation with the link in its mail.
Mails are sent when the server runs (npm start); without SMTP_URL they are written under
${config.DATA_DIR}/mail and their links are logged.

  curl -s ${config.PUBLIC_URL}/api/auth/token -H 'content-type: application/json' \\
    -d '{"email":"alice@example.com","password":"${DEMO_PASSWORD}"}'`);
} finally {
  await closeDeps(deps);
}
