"""The user's workspace: safe paths, atomic writes, job state, baselines, merges, the file watcher."""
