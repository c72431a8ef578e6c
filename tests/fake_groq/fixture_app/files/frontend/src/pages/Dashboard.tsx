import BarChart from "../components/BarChart";
import StatCard from "../components/StatCard";
import { useStats } from "../hooks/useStats";

export default function Dashboard() {
  const { stats, error } = useStats();
  return (
    <div className="page">
      <h1>Dashboard</h1>
      {error && <p role="alert">Could not load statistics: {error}</p>}
      {stats && (
        <>
          <div style={{ display: "flex", gap: "1rem", marginBottom: "1.5rem" }}>
            <StatCard label="Total" value={stats.total} />
            <StatCard label="To do" value={stats.byStatus.todo} />
            <StatCard label="Doing" value={stats.byStatus.doing} />
            <StatCard label="Done" value={stats.byStatus.done} />
          </div>
          <h2>Tasks per project</h2>
          <BarChart data={stats.byProject} />
        </>
      )}
    </div>
  );
}
