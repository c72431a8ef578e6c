"""StepForge's wire contract: pydantic models, method names and error codes. Imports no server code."""
