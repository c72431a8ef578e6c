// The tree of the plan's files, grouped by implementation step, with each file's state. Pure:
// the TreeDataProvider in tree.ts only renders it.
import type { FileState, StatusResult } from "./protocol.generated";

export interface StepNode {
  kind: "step";
  index: number;
  label: string;
  files: string[];
}

export interface FileNode {
  kind: "file";
  path: string;
  state: FileState;
  reason?: string | null;
}

export type Node = StepNode | FileNode;

/** Codicon and theme color of each state. */
export const STATE_ICONS: Record<FileState, { icon: string; color?: string }> = {
  pending: { icon: "circle-large-outline" },
  generating: { icon: "sync~spin", color: "charts.blue" },
  done: { icon: "pass-filled", color: "testing.iconPassed" },
  failed: { icon: "error", color: "testing.iconFailed" },
  skipped: { icon: "debug-step-over", color: "disabledForeground" },
  userModified: { icon: "edit", color: "gitDecoration.modifiedResourceForeground" },
  deleted: { icon: "trash", color: "gitDecoration.deletedResourceForeground" },
  conflict: { icon: "warning", color: "list.warningForeground" },
};

interface PlanLike {
  implementation_order?: { step: number; type?: string; files: string[] }[];
}

export class FileTreeModel {
  private steps: StepNode[] = [];
  private readonly states = new Map<string, FileNode>();

  /** Lay out the plan's steps; keep the states already known. */
  setPlan(plan: PlanLike | undefined): void {
    const order = [...(plan?.implementation_order ?? [])].sort((a, b) => a.step - b.step);
    this.steps = order.map((step, index) => ({
      kind: "step",
      index,
      label: `Step ${step.step}${step.type ? `: ${step.type}` : ""}`,
      files: [...step.files],
    }));
  }

  /** Take every file's state from a status answer. */
  applyStatus(status: StatusResult): void {
    for (const entry of status.files ?? []) {
      this.update(entry.path, entry.state, entry.reason);
    }
  }

  update(path: string, state: FileState, reason?: string | null): void {
    this.states.set(path, { kind: "file", path, state, reason });
  }

  roots(): StepNode[] {
    return this.steps;
  }

  children(step: StepNode): FileNode[] {
    return step.files.map((path) => this.states.get(path) ?? { kind: "file", path, state: "pending" });
  }

  stateOf(path: string): FileState {
    return this.states.get(path)?.state ?? "pending";
  }

  /** "3/24 done, 1 failed" for the view's description. */
  summary(): string {
    const all = this.steps.flatMap((step) => this.children(step));
    const complete = all.filter((f) => ["done", "userModified", "conflict", "deleted"].includes(f.state)).length;
    const failed = all.filter((f) => f.state === "failed").length;
    return `${complete}/${all.length} done` + (failed ? `, ${failed} failed` : "");
  }
}
