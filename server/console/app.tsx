import { useEffect, useState } from "preact/hooks";
import { type Me, resume, signOut } from "./api.ts";
import { AuditPage } from "./audit.tsx";
import { InvitePage } from "./invite.tsx";
import { OrganizationsPage } from "./organizations.tsx";
import { SignIn } from "./sign-in.tsx";
import { UserPage } from "./user-page.tsx";
import { UsersPage } from "./users-list.tsx";

/** The part of the address after `#`: `/users/12`, `/audit?actorId=3`. */
function useRoute() {
  const read = () => location.hash.replace(/^#/, "") || "/users";
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  const [path = "/users", query = ""] = route.split("?");
  return { path, params: new URLSearchParams(query) };
}

export function App() {
  const [me, setMe] = useState<Me | undefined | null>(null);
  useEffect(() => {
    resume().then(setMe, () => setMe(undefined));
  }, []);
  if (me === null) return <p class="loading">Loading the console…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;
  return <Console me={me} onSignedOut={() => setMe(undefined)} />;
}

function Console({ me, onSignedOut }: { me: Me; onSignedOut: () => void }) {
  const { path, params } = useRoute();
  const userId = /^\/users\/(\d+)$/.exec(path)?.[1];
  const appAdmin = me.role === "AppAdmin";
  const links: [string, string][] = [
    ["/users", "Users"],
    ["/invite", "Invite"],
    // Organizations and the audit log are the AppAdmin's (the service refuses an Admin).
    ...(appAdmin
      ? ([
          ["/organizations", "Organizations"],
          ["/audit", "Audit log"],
        ] as [string, string][])
      : []),
  ];
  let page = <UsersPage />;
  if (userId) page = <UserPage key={userId} id={Number(userId)} me={me} />;
  else if (path === "/invite") page = <InvitePage me={me} />;
  else if (path === "/organizations" && appAdmin) page = <OrganizationsPage />;
  else if (path === "/audit" && appAdmin) page = <AuditPage params={params} />;
  return (
    <>
      <header class="top">
        <span class="brand">Users API · Admin</span>
        <nav aria-label="Console">
          {links.map(([to, label]) => (
            <a
              key={to}
              href={`#${to}`}
              aria-current={path === to || path.startsWith(`${to}/`) ? "page" : undefined}
            >
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          {me.email} ({me.role}){" "}
          <button type="button" class="link" onClick={() => signOut().finally(onSignedOut)}>
            Sign out
          </button>
        </span>
      </header>
      <main>{page}</main>
    </>
  );
}
