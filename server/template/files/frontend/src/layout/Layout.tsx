import type { ReactNode } from "react";
import { Toaster } from "@/components/ui/toast";
import Sidebar from "./Sidebar";
import type { AppRoute } from "./types";

export default function Layout({ routes, children }: { routes: AppRoute[]; children: ReactNode }) {
  return (
    <div className="flex min-h-screen bg-background text-foreground">
      <Sidebar routes={routes} />
      <main className="min-w-0 flex-1 overflow-auto px-8 py-6">{children}</main>
      <Toaster />
    </div>
  );
}
