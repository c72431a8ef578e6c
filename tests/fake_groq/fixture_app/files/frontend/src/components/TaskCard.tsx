import { Trash2 } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import type { Task, TaskStatus } from "../types/task";

type TaskCardProps = { task: Task; onMove: (status: TaskStatus) => void; onDelete: () => void };

const NEXT: Record<TaskStatus, TaskStatus> = { todo: "doing", doing: "done", done: "todo" };
const BADGE = { todo: "secondary", doing: "warning", done: "success" } as const;

export default function TaskCard({ task, onMove, onDelete }: TaskCardProps) {
  return (
    <li className="flex items-center gap-3 px-4 py-3">
      <span className={task.status === "done" ? "flex-1 text-muted-foreground line-through" : "flex-1"}>{task.title}</span>
      <span className="text-xs text-muted-foreground">{task.due ?? "no due date"}</span>
      <Badge variant={BADGE[task.status]}>{task.status}</Badge>
      <Button variant="outline" size="sm" onClick={() => onMove(NEXT[task.status])}>
        {task.status} → {NEXT[task.status]}
      </Button>
      <Button variant="ghost" size="icon" onClick={onDelete} aria-label={`Delete ${task.title}`}>
        <Trash2 aria-hidden="true" />
      </Button>
    </li>
  );
}
