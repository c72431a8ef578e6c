"""Live preview: the frontend and the backend of a workspace served side by side, in Docker
containers or as local processes, on ports that never collide."""
