// The route registry: StepForge writes the plan's routes here. Edit freely; your edits are kept.
import type { AppRoute } from "./layout/types";

export const routes: AppRoute[] = [];
