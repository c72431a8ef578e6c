import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import packageJson from "./package.json";

// Every runtime dependency is pre-bundled as the server starts: a page written later that imports
// one (recharts, a kit primitive) neither waits for a new bundling round nor reloads the browser.
// (`vite optimize`, run when the dependencies are installed, fills the cache before any start.)
const dependencies: Record<string, string> = packageJson.dependencies ?? {};

// STEPFORGE_VITE_CACHE_DIR lets the preview container keep Vite's cache out of the workspace.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  // `@/components/ui/button` is `src/components/ui/button.tsx` (tsconfig.json says the same).
  resolve: { alias: { "@": "/src" } },
  cacheDir: process.env.STEPFORGE_VITE_CACHE_DIR || "node_modules/.vite",
  optimizeDeps: {
    include: Object.keys(dependencies),
    // Every source file, not only what index.html reaches today: the kit's own imports are known
    // before the pages that use them are written.
    entries: ["index.html", "src/**/*.{ts,tsx}"],
  },
  server: {
    port: Number(process.env.PORT || 3002),
    watch: process.env.STEPFORGE_POLL_WATCH ? { usePolling: true, interval: 300 } : undefined,
  },
});
