"""HTTP routers; router_registry.py includes each module's `router`."""
