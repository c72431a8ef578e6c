interface BarChartProps {
  data: Record<string, number>;
  color?: string;
}

/** A dependency-free SVG bar chart: one bar per key, labelled below. */
export default function BarChart({ data, color = "#2563eb" }: BarChartProps) {
  const entries = Object.entries(data);
  const max = Math.max(1, ...entries.map(([, value]) => value));
  const barWidth = 48;
  const height = 160;
  return (
    <svg width={entries.length * (barWidth + 16)} height={height + 24} role="img" aria-label="bar chart">
      {entries.map(([label, value], index) => {
        const barHeight = (value / max) * height;
        const x = index * (barWidth + 16);
        return (
          <g key={label}>
            <rect x={x} y={height - barHeight} width={barWidth} height={barHeight} fill={color} rx={4} />
            <text x={x + barWidth / 2} y={height + 16} textAnchor="middle" fontSize={11}>
              {label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
