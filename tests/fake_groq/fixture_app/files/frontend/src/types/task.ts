export type TaskStatus = "todo" | "doing" | "done";

export interface Task {
  id: number;
  title: string;
  project_id: number | null;
  status: TaskStatus;
  due: string | null;
}

export interface TaskStats {
  total: number;
  byStatus: Record<TaskStatus, number>;
  byProject: Record<string, number>;
}
