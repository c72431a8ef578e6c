import { Card, CardContent, CardDescription, CardHeader } from "@/components/ui/card";

interface StatCardProps {
  label: string;
  value: number;
}

export default function StatCard({ label, value }: StatCardProps) {
  return (
    <Card>
      <CardHeader>
        <CardDescription>{label}</CardDescription>
      </CardHeader>
      <CardContent>
        <div className="text-3xl font-semibold tabular-nums" data-testid={`stat-${label}`}>
          {value}
        </div>
      </CardContent>
    </Card>
  );
}
