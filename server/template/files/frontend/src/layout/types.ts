import type { ComponentType, LazyExoticComponent } from "react";
import type { LucideIcon } from "lucide-react";

/** One page of the app: its URL path, its navigation entry, and the component that renders it. */
export interface AppRoute {
  path: string;
  label: string;
  group: string;
  icon: LucideIcon;
  component: LazyExoticComponent<ComponentType> | ComponentType;
}
