import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import BarChart from "../components/BarChart";
import StatCard from "../components/StatCard";
import { useStats } from "../hooks/useStats";

export default function Dashboard() {
  const { stats, error } = useStats();
  return (
    <div className="space-y-6">
      <header className="text-2xl font-semibold tracking-tight">
        <h1>Dashboard</h1>
      </header>
      {error && (
        <p role="alert" className="text-sm text-destructive">
          Could not load statistics: {error}
        </p>
      )}
      {!stats && !error && <Skeleton className="h-28 w-full" />}
      {stats && (
        <>
          <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            <StatCard label="Total" value={stats.total} />
            <StatCard label="To do" value={stats.byStatus.todo} />
            <StatCard label="Doing" value={stats.byStatus.doing} />
            <StatCard label="Done" value={stats.byStatus.done} />
          </div>
          <Card>
            <CardHeader>
              <CardTitle>Tasks per project</CardTitle>
              <CardDescription>Open and finished tasks of each project</CardDescription>
            </CardHeader>
            <CardContent>
              <BarChart data={stats.byProject} />
            </CardContent>
          </Card>
        </>
      )}
    </div>
  );
}
