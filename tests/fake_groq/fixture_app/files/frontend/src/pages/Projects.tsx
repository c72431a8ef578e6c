import { useEffect, useState } from "react";
import { fetchProjects } from "../services/tasks";
import type { Project } from "../types/project";

export default function Projects() {
  const [projects, setProjects] = useState<Project[]>([]);
  useEffect(() => {
    fetchProjects().then(setProjects, () => setProjects([]));
  }, []);
  return (
    <div className="page">
      <h1>Projects</h1>
      <ul>
        {projects.map((project) => (
          <li key={project.id} style={{ color: project.color }}>
            {project.name}
          </li>
        ))}
      </ul>
    </div>
  );
}
