import { useEffect, useRef, useState } from "preact/hooks";
import { type Failure, failureOf, type Me, resume, signOut, whenSessionEnds } from "./api.ts";
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
  // Why the sign-in form is shown again, when it was not the person's choice.
  const [ended, setEnded] = useState<Failure>();
  useEffect(() => {
    whenSessionEnds(() => {
      setEnded({ code: "UNAUTHENTICATED", message: "The session has ended; sign in again" });
      setMe(undefined);
    });
    resume().then(setMe, () => setMe(undefined));
  }, []);
  const leave = async () => {
    try {
      await signOut();
      setEnded(undefined);
    } catch (error) {
      const failure = failureOf(error);
      setEnded({
        ...failure,
        message: `Signed out here, but the service said: ${failure.message}`,
      });
    }
    setMe(undefined);
  };
  if (me === null) return <p class="loading">Loading the console…</p>;
  if (!me) return <SignIn onSignedIn={setMe} notice={ended} />;
  return <Console me={me} onSignOut={leave} />;
}

function Console({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const { path, params } = useRoute();
  // A new page: the keyboard and screen readers start at its content, not at the old link.
  const main = useRef<HTMLElement>(null);
  const shownPath = useRef(path);
  useEffect(() => {
    if (shownPath.current === path) return;
    shownPath.current = path;
    main.current?.focus();
  }, [path]);
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
          <button type="button" class="link" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      <main ref={main} tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
