import { Suspense } from "react";
import { Navigate, Route, Routes } from "react-router";
import Layout from "./layout/Layout";
import { routes } from "./routes";

function Welcome() {
  return (
    <div className="page">
      <h1>Your app is being built</h1>
      <p>Pages appear here as StepForge generates them.</p>
    </div>
  );
}

export default function App() {
  return (
    <Layout routes={routes}>
      <Suspense fallback={<div className="page">Loading…</div>}>
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
