import type { Task, TaskStatus } from "../types/task";

interface TaskCardProps {
  task: Task;
  onMove: (status: TaskStatus) => void;
  onDelete: () => void;
}

const NEXT: Record<TaskStatus, TaskStatus> = { todo: "doing", doing: "done", done: "todo" };

export default function TaskCard({ task, onMove, onDelete }: TaskCardProps) {
  return (
    <li className="task-card" style={{ display: "flex", gap: "0.75rem", alignItems: "center", padding: "0.5rem 0" }}>
      <span style={{ flex: 1, textDecoration: task.status === "done" ? "line-through" : "none" }}>{task.title}</span>
      <span style={{ fontSize: "0.8rem", color: "#64748b" }}>{task.due ?? "no due date"}</span>
      <button type="button" onClick={() => onMove(NEXT[task.status])}>
        {task.status} → {NEXT[task.status]}
      </button>
      <button type="button" onClick={onDelete} aria-label={`Delete ${task.title}`}>
        ✕
      </button>
    </li>
  );
}
