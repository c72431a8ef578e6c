import { Bar, BarChart as Chart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

interface BarChartProps {
  data: Record<string, number>;
  color?: string;
}

/** One bar per key, labelled below (recharts, sized by its parent). */
export default function BarChart({ data, color = "var(--chart-1)" }: BarChartProps) {
  const rows = Object.entries(data).map(([label, value]) => ({ label, value }));
  return (
    <div className="h-64 w-full" role="img" aria-label="bar chart">
      <ResponsiveContainer width="100%" height="100%">
        <Chart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="var(--border)" />
          <XAxis dataKey="label" tickLine={false} axisLine={false} fontSize={12} />
          <YAxis allowDecimals={false} tickLine={false} axisLine={false} fontSize={12} />
          <Tooltip cursor={{ fill: "var(--muted)" }} />
          <Bar dataKey="value" fill={color} radius={[4, 4, 0, 0]} />
        </Chart>
      </ResponsiveContainer>
    </div>
  );
}
