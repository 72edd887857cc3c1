// Organizations (AppAdmin): the tree, create, rename, move, delete, and members with roles.
// The tree is built from one page of up to 1,000 organizations; more are said to exist.

import { useState } from "preact/hooks";
import { trpc } from "./api.ts";
import { OrganizationMembers } from "./organization-members.tsx";
import { ErrorNote, Field, Notice, useAction, useLoad } from "./ui.tsx";

type Organization = Awaited<ReturnType<typeof trpc.organizations.list.query>>["value"][number];
const MAX_SHOWN = 1000;

/** Children by parent id (null: the roots), each sorted by name. */
function childrenOf(orgs: Organization[]): Map<number | null, Organization[]> {
  const byParent = new Map<number | null, Organization[]>();
  const known = new Set(orgs.map((org) => org.id));
  for (const org of orgs) {
    // A parent beyond the page shown: the organization is shown as a root.
    const parent = org.parentId !== null && known.has(org.parentId) ? org.parentId : null;
    byParent.set(parent, [...(byParent.get(parent) ?? []), org]);
  }
  for (const list of byParent.values()) list.sort((a, b) => a.name.localeCompare(b.name));
  return byParent;
}

/** Each organization with its depth, in tree order (for the tree and the parent pickers). */
function flatten(byParent: Map<number | null, Organization[]>) {
  const out: { org: Organization; depth: number }[] = [];
  const walk = (parent: number | null, depth: number) => {
    for (const org of byParent.get(parent) ?? []) {
      out.push({ org, depth });
      walk(org.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

export function OrganizationsPage() {
  const list = useLoad(() => trpc.organizations.list.query({ $top: MAX_SHOWN }), []);
  const [selected, setSelected] = useState<number>();
  const orgs = list.data?.value ?? [];
  const ordered = flatten(childrenOf(orgs));
  const current = orgs.find((org) => org.id === selected);
  return (
    <section>
      <h1>Organizations</h1>
      <ErrorNote failure={list.failure} />
      {list.data && list.data.count > orgs.length && (
        <p class="reason">
          Showing {orgs.length} of {list.data.count} organizations.
        </p>
      )}
      <div class="split">
        <div>
          <h2>Tree</h2>
          {ordered.length === 0 && list.data && <p>No organizations yet.</p>}
          <ul class="tree" aria-label="Organization tree">
            {ordered.map(({ org, depth }) => (
              <li key={org.id} class={`depth-${Math.min(depth, 8)}`}>
                <button
                  type="button"
                  class="link"
                  aria-pressed={org.id === selected}
                  onClick={() => setSelected(org.id)}
                >
                  {org.name}
                </button>
              </li>
            ))}
          </ul>
          <CreateOrganization ordered={ordered} onCreated={list.reload} />
        </div>
        <div>
          {current ? (
            <OrganizationPanel
              key={current.id}
              org={current}
              ordered={ordered}
              onChanged={list.reload}
              onDeleted={() => {
                setSelected(undefined);
                list.reload();
              }}
            />
          ) : (
            <p class="muted">Choose an organization in the tree.</p>
          )}
        </div>
      </div>
    </section>
  );
}

type Ordered = ReturnType<typeof flatten>;

/** A select of possible parents: none, or any organization but `exclude`. */
function ParentSelect({
  id,
  ordered,
  value,
  onChange,
  exclude,
}: {
  id: string;
  ordered: Ordered;
  value: string;
  onChange: (value: string) => void;
  exclude?: number;
}) {
  return (
    <select id={id} value={value} onChange={(event) => onChange(event.currentTarget.value)}>
      <option value="">(none: a root)</option>
      {ordered
        .filter(({ org }) => org.id !== exclude)
        .map(({ org, depth }) => (
          <option key={org.id} value={String(org.id)}>
            {`${"— ".repeat(depth)}${org.name}`}
          </option>
        ))}
    </select>
  );
}

const parentOf = (value: string) => (value ? Number(value) : null);

function CreateOrganization({ ordered, onCreated }: { ordered: Ordered; onCreated: () => void }) {
  const action = useAction();
  const [name, setName] = useState("");
  const [parent, setParent] = useState("");
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    void action.run(async () => {
      const org = await trpc.organizations.create.mutate({ name, parentId: parentOf(parent) });
      setName("");
      onCreated();
      return `Created ${org.name}`;
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="create-org-heading">
      <h2 id="create-org-heading">New organization</h2>
      <NameField value={name} onChange={setName} />
      <Field label="Parent">
        {(id) => <ParentSelect id={id} ordered={ordered} value={parent} onChange={setParent} />}
      </Field>
      <ErrorNote failure={action.failure} />
      <Notice text={action.notice} />
      <button type="submit" disabled={action.busy}>
        Create
      </button>
    </form>
  );
}

/** An organization's name, as the create and edit forms take it (at most 200 characters). */
function NameField({ value, onChange }: { value: string; onChange: (name: string) => void }) {
  return (
    <Field label="Name">
      {(id) => (
        <input
          id={id}
          value={value}
          onInput={(event) => onChange(event.currentTarget.value)}
          required
          maxLength={200}
        />
      )}
    </Field>
  );
}

function OrganizationPanel({
  org,
  ordered,
  onChanged,
  onDeleted,
}: {
  org: Organization;
  ordered: Ordered;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const action = useAction();
  const [name, setName] = useState(org.name);
  const [parent, setParent] = useState(org.parentId === null ? "" : String(org.parentId));
  const save = (event: SubmitEvent) => {
    event.preventDefault();
    void action.run(async () => {
      await trpc.organizations.edit.mutate({ id: org.id, name, parentId: parentOf(parent) });
      onChanged();
      return "Saved";
    });
  };
  const remove = () =>
    action.run(async () => {
      await trpc.organizations.delete.mutate({ id: org.id });
      onDeleted();
      return undefined;
    });
  return (
    <>
      <form class="card" onSubmit={save} aria-labelledby="org-heading">
        <h2 id="org-heading">{org.name}</h2>
        <NameField value={name} onChange={setName} />
        <Field label="Parent">
          {(id) => (
            <ParentSelect
              id={id}
              ordered={ordered}
              value={parent}
              onChange={setParent}
              exclude={org.id}
            />
          )}
        </Field>
        <ErrorNote failure={action.failure} />
        <Notice text={action.notice} />
        <div class="actions">
          <button type="submit" disabled={action.busy}>
            Save (rename / move)
          </button>
          <button type="button" class="danger" disabled={action.busy} onClick={remove}>
            Delete organization
          </button>
        </div>
      </form>
      <OrganizationMembers organizationId={org.id} />
    </>
  );
}
