import { useState, type FormEvent } from "react";
import { Plus } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";

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
    <form onSubmit={submit} className="flex gap-2">
      <Input value={title} onChange={(e) => setTitle(e.target.value)} placeholder="New task" aria-label="New task" />
      <Button type="submit">
        <Plus aria-hidden="true" />
        Add
      </Button>
    </form>
  );
}
