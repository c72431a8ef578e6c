import { Suspense } from "react";
import { Navigate, Route, Routes } from "react-router";
import Sparkles from "lucide-react/icons/sparkles";
import { EmptyState } from "@/components/ui/empty-state";
import { Skeleton } from "@/components/ui/skeleton";
import Layout from "./layout/Layout";
import { routes } from "./routes";

function Welcome() {
  return (
    <EmptyState
      icon={Sparkles}
      title="Your app is being built"
      description="Pages appear here as StepForge generates them."
    />
  );
}

function Loading() {
  return (
    <div className="space-y-4" aria-label="Loading">
      <Skeleton className="h-8 w-48" />
      <Skeleton className="h-32 w-full" />
    </div>
  );
}

export default function App() {
  return (
    <Layout routes={routes}>
      <Suspense fallback={<Loading />}>
        <Routes>
          {routes.map(({ path, component: Page }) => (
            <Route key={path} path={path} element={<Page />} />
          ))}
          <Route
            path="*"
            element={routes.length > 0 ? <Navigate to={routes[0].path} replace /> : <Welcome />}
          />
        </Routes>
      </Suspense>
    </Layout>
  );
}
