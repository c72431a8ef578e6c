import { NavLink } from "react-router";
import type { AppRoute } from "./types";

/** Navigation entries grouped by their `group`, in the order the groups first appear. */
function groupRoutes(routes: AppRoute[]): [string, AppRoute[]][] {
  const groups = new Map<string, AppRoute[]>();
  for (const route of routes) {
    const entries = groups.get(route.group) ?? [];
    entries.push(route);
    groups.set(route.group, entries);
  }
  return [...groups.entries()];
}

export default function Sidebar({ routes }: { routes: AppRoute[] }) {
  return (
    <nav className="sidebar" aria-label="Main navigation">
      {groupRoutes(routes).map(([group, entries]) => (
        <section key={group} className="sidebar-group">
          <h2 className="sidebar-group-title">{group}</h2>
          <ul>
            {entries.map(({ path, label, icon: Icon }) => (
              <li key={path}>
                <NavLink to={path} className={({ isActive }) => (isActive ? "nav-link active" : "nav-link")}>
                  <Icon size={18} aria-hidden="true" />
                  <span>{label}</span>
                </NavLink>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </nav>
  );
}
