import type { Project } from "../types/project";
import type { Task, TaskStats, TaskStatus } from "../types/task";
import { request } from "./api";

export const fetchTasks = () => request<Task[]>("/api/tasks");
export const fetchProjects = () => request<Project[]>("/api/projects");
export const fetchStats = () => request<TaskStats>("/api/stats");

export const createTask = (title: string, projectId: number | null) =>
  request<Task>("/api/tasks", {
    method: "POST",
    body: JSON.stringify({ title, project_id: projectId }),
  });

export const setTaskStatus = (id: number, status: TaskStatus) =>
  request<Task>(`/api/tasks/${id}`, { method: "PATCH", body: JSON.stringify({ status }) });

export const deleteTask = (id: number) => request<void>(`/api/tasks/${id}`, { method: "DELETE" });
