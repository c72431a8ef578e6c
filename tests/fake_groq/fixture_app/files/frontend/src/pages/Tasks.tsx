import { ListChecks } from "lucide-react";
import { Card, CardContent } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { toast } from "@/components/ui/toast";
import TaskCard from "../components/TaskCard";
import TaskForm from "../components/TaskForm";
import { useTasks } from "../hooks/useTasks";

export default function Tasks() {
  const { tasks, error, add, move, remove } = useTasks();
  const addTask = (title: string) =>
    add(title, null).then(
      () => toast.success("Task added", title),
      (e: Error) => toast.error("Could not add the task", e.message),
    );
  return (
    <div className="space-y-6">
      <header className="text-2xl font-semibold tracking-tight">
        <h1>Tasks</h1>
      </header>
      {error && (
        <p role="alert" className="text-sm text-destructive">
          Could not load tasks: {error}
        </p>
      )}
      <TaskForm onAdd={addTask} />
      {tasks.length === 0 ? (
        <EmptyState icon={ListChecks} title="No tasks yet" description="Add the first one above." />
      ) : (
        <Card>
          <CardContent className="p-0">
            <ul className="divide-y">
              {tasks.map((task) => (
                <TaskCard key={task.id} task={task} onMove={(status) => move(task.id, status)} onDelete={() => remove(task.id)} />
              ))}
            </ul>
          </CardContent>
        </Card>
      )}
    </div>
  );
}
