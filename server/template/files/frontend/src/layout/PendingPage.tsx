import Hourglass from "lucide-react/icons/hourglass";
import { EmptyState } from "@/components/ui/empty-state";

/** Shown for a planned page whose file StepForge has not written yet. */
export default function PendingPage() {
  return (
    <EmptyState
      icon={Hourglass}
      title="Coming soon"
      description="StepForge has not generated this page yet."
    />
  );
}
