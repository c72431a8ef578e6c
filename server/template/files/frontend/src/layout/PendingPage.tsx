/** Shown for a planned page whose file StepForge has not written yet. */
export default function PendingPage() {
  return (
    <div className="page">
      <h1>Coming soon</h1>
      <p>StepForge has not generated this page yet.</p>
    </div>
  );
}
