"""Repairing a generated project: the files with error problems are regenerated with their
problems and the facts they need (what their imports really export, the backend's endpoints), for a
bounded number of rounds, merging the user's edits as every regeneration does."""

from server.repair.loop import Repairer, RepairOutcome, check_and_repair

__all__ = ["RepairOutcome", "Repairer", "check_and_repair"]
