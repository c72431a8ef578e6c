import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { API_URL } from "../config";

export default function Settings() {
  return (
    <div className="space-y-6">
      <header className="text-2xl font-semibold tracking-tight">
        <h1>Settings</h1>
      </header>
      <Card className="max-w-xl">
        <CardHeader>
          <CardTitle>Backend</CardTitle>
          <CardDescription>Where this app's API answers</CardDescription>
        </CardHeader>
        <CardContent>
          <code className="rounded bg-muted px-2 py-1 text-sm">{API_URL}</code>
        </CardContent>
      </Card>
    </div>
  );
}
