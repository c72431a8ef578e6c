// Toast: call `toast("Saved")`, `toast.success("Task added")` or `toast.error("Could not save")` anywhere; the layout renders the <Toaster />.
import { useSyncExternalStore } from "react";
import CircleAlert from "lucide-react/icons/circle-alert";
import CircleCheck from "lucide-react/icons/circle-check";
import Info from "lucide-react/icons/info";
import X from "lucide-react/icons/x";
import { cn } from "@/lib/utils";

export type ToastKind = "info" | "success" | "error";

export interface ToastMessage {
  id: number;
  kind: ToastKind;
  title: string;
  description?: string;
}

const DURATION_MS = 4000;
let messages: ToastMessage[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function publish(next: ToastMessage[]) {
  messages = next;
  listeners.forEach((listener) => listener());
}

function dismiss(id: number) {
  publish(messages.filter((message) => message.id !== id));
}

function show(kind: ToastKind, title: string, description?: string): number {
  const id = nextId++;
  publish([...messages, { id, kind, title, description }].slice(-5));
  setTimeout(() => dismiss(id), DURATION_MS);
  return id;
}

export const toast = Object.assign(
  (title: string, description?: string) => show("info", title, description),
  {
    success: (title: string, description?: string) => show("success", title, description),
    error: (title: string, description?: string) => show("error", title, description),
    dismiss,
  },
);

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

const ICONS = { info: Info, success: CircleCheck, error: CircleAlert };

export function Toaster() {
  const current = useSyncExternalStore(subscribe, () => messages);
  return (
    <div
      className="pointer-events-none fixed right-4 bottom-4 z-[100] flex w-80 flex-col gap-2"
      role="region"
      aria-label="Notifications"
    >
      {current.map(({ id, kind, title, description }) => {
        const Icon = ICONS[kind];
        return (
          <div
            key={id}
            role={kind === "error" ? "alert" : "status"}
            className="pointer-events-auto flex items-start gap-3 rounded-lg border bg-popover p-3 text-sm text-popover-foreground shadow-lg"
          >
            <Icon
              className={cn(
                "mt-0.5 size-4 shrink-0",
                kind === "success" && "text-success",
                kind === "error" && "text-destructive",
              )}
              aria-hidden="true"
            />
            <div className="flex-1">
              <p className="font-medium">{title}</p>
              {description && <p className="text-muted-foreground">{description}</p>}
            </div>
            <button
              type="button"
              onClick={() => dismiss(id)}
              className="opacity-60 hover:opacity-100"
              aria-label="Dismiss"
            >
              <X className="size-4" aria-hidden="true" />
            </button>
          </div>
        );
      })}
    </div>
  );
}
