interface StatCardProps {
  label: string;
  value: number;
}

export default function StatCard({ label, value }: StatCardProps) {
  return (
    <div className="stat-card" style={{ padding: "1rem", background: "white", borderRadius: 8, minWidth: 140 }}>
      <div style={{ fontSize: "0.8rem", color: "#64748b" }}>{label}</div>
      <div style={{ fontSize: "1.8rem", fontWeight: 600 }} data-testid={`stat-${label}`}>
        {value}
      </div>
    </div>
  );
}
