"""Services: storage and statistics, independent of HTTP."""
