import TaskCard from "../components/TaskCard";
import TaskForm from "../components/TaskForm";
import { useTasks } from "../hooks/useTasks";

export default function Tasks() {
  const { tasks, error, add, move, remove } = useTasks();
  return (
    <div className="page">
      <h1>Tasks</h1>
      {error && <p role="alert">Could not load tasks: {error}</p>}
      <TaskForm onAdd={(title) => add(title, null)} />
      <ul style={{ listStyle: "none", padding: 0 }}>
        {tasks.map((task) => (
          <TaskCard key={task.id} task={task} onMove={(status) => move(task.id, status)} onDelete={() => remove(task.id)} />
        ))}
      </ul>
    </div>
  );
}
