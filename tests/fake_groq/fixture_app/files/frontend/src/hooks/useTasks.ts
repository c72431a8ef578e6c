import { useCallback, useEffect, useState } from "react";
import { createTask, deleteTask, fetchTasks, setTaskStatus } from "../services/tasks";
import type { Task, TaskStatus } from "../types/task";

export function useTasks() {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(() => {
    fetchTasks().then(setTasks, (e: Error) => setError(e.message));
  }, []);

  useEffect(reload, [reload]);

  return {
    tasks,
    error,
    add: (title: string, projectId: number | null) => createTask(title, projectId).then(reload),
    move: (id: number, status: TaskStatus) => setTaskStatus(id, status).then(reload),
    remove: (id: number) => deleteTask(id).then(reload),
  };
}
