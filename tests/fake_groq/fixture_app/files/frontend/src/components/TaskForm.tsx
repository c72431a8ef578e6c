import { useState, type FormEvent } from "react";

interface TaskFormProps {
  onAdd: (title: string) => Promise<unknown>;
}

export default function TaskForm({ onAdd }: TaskFormProps) {
  const [title, setTitle] = useState("");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (title.trim()) {
      onAdd(title.trim()).then(() => setTitle(""));
    }
  };

  return (
    <form onSubmit={submit} style={{ display: "flex", gap: "0.5rem", marginBottom: "1rem" }}>
      <input value={title} onChange={(e) => setTitle(e.target.value)} placeholder="New task" aria-label="New task" />
      <button type="submit">Add</button>
    </form>
  );
}
