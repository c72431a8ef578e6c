"""Changing a generated app with a follow-up request: a plan delta, only the files it touches,
the user's edits merged, a history to list and undo."""
