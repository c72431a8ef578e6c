"""Data models of the task manager."""
