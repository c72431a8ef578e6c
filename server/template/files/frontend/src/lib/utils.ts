import { clsx, type ClassValue } from "clsx";
import { twMerge } from "tailwind-merge";

/** Class names joined, falsy ones dropped, conflicting Tailwind utilities resolved (the last wins):
 * `cn("px-2 py-1", isActive && "bg-primary", className)`. */
export function cn(...inputs: ClassValue[]): string {
  return twMerge(clsx(inputs));
}
