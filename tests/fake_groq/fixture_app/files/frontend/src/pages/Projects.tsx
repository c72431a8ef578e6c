import { useEffect, useState } from "react";
import { FolderKanban } from "lucide-react";
import { Card, CardHeader, CardTitle } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { fetchProjects } from "../services/tasks";
import type { Project } from "../types/project";

export default function Projects() {
  const [projects, setProjects] = useState<Project[]>([]);
  useEffect(() => {
    fetchProjects().then(setProjects, () => setProjects([]));
  }, []);
  return (
    <div className="space-y-6">
      <header className="text-2xl font-semibold tracking-tight">
        <h1>Projects</h1>
      </header>
      {projects.length === 0 ? (
        <EmptyState icon={FolderKanban} title="No projects yet" />
      ) : (
        <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {projects.map((project) => (
            <li key={project.id}>
              <Card>
                <CardHeader className="flex-row items-center gap-3 pb-6">
                  <span className="size-3 rounded-full" style={{ background: project.color }} aria-hidden="true" />
                  <CardTitle>{project.name}</CardTitle>
                </CardHeader>
              </Card>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
