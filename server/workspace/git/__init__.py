"""The workspace as a git repository: one commit per StepForge run, history and undo from the log."""
