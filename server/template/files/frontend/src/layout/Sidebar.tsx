import { useState } from "react";
import { NavLink } from "react-router";
// One module per icon: importing the lucide-react barrel makes a cold build transform every icon.
import Moon from "lucide-react/icons/moon";
import Sun from "lucide-react/icons/sun";
import { cn } from "@/lib/utils";
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

function ThemeToggle() {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains("dark"));
  function toggle() {
    const next = !dark;
    document.documentElement.classList.toggle("dark", next);
    localStorage.setItem("theme", next ? "dark" : "light");
    setDark(next);
  }
  return (
    <button
      type="button"
      onClick={toggle}
      className="flex w-full items-center gap-2 rounded-md px-2 py-2 text-sm text-sidebar-muted hover:bg-sidebar-accent hover:text-sidebar-foreground"
      aria-label={dark ? "Switch to the light theme" : "Switch to the dark theme"}
    >
      {dark ? <Sun size={16} aria-hidden="true" /> : <Moon size={16} aria-hidden="true" />}
      <span>{dark ? "Light theme" : "Dark theme"}</span>
    </button>
  );
}

export default function Sidebar({ routes }: { routes: AppRoute[] }) {
  return (
    <nav
      className="flex w-60 shrink-0 flex-col gap-5 bg-sidebar px-3 py-4 text-sidebar-foreground"
      aria-label="Main navigation"
    >
      <div className="flex-1 space-y-5">
        {groupRoutes(routes).map(([group, entries]) => (
          <section key={group}>
            <h2 className="mx-2 mb-2 text-xs font-medium uppercase tracking-wider text-sidebar-muted">
              {group}
            </h2>
            <ul className="space-y-0.5">
              {entries.map(({ path, label, icon: Icon }) => (
                <li key={path}>
                  <NavLink
                    to={path}
                    className={({ isActive }) =>
                      cn(
                        "flex items-center gap-2.5 rounded-md px-2 py-2 text-sm transition-colors",
                        isActive
                          ? "bg-sidebar-primary text-sidebar-primary-foreground"
                          : "hover:bg-sidebar-accent",
                      )
                    }
                  >
                    <Icon size={18} aria-hidden="true" />
                    <span>{label}</span>
                  </NavLink>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
      <ThemeToggle />
    </nav>
  );
}
