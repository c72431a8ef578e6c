import { useEffect, useState } from "react";
import { fetchStats } from "../services/tasks";
import type { TaskStats } from "../types/task";

export function useStats() {
  const [stats, setStats] = useState<TaskStats | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetchStats().then(setStats, (e: Error) => setError(e.message));
  }, []);

  return { stats, error };
}
