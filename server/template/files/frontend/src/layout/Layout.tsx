import type { ReactNode } from "react";
import Sidebar from "./Sidebar";
import type { AppRoute } from "./types";

export default function Layout({ routes, children }: { routes: AppRoute[]; children: ReactNode }) {
  return (
    <div className="app-shell">
      <Sidebar routes={routes} />
      <main className="app-main">{children}</main>
    </div>
  );
}
