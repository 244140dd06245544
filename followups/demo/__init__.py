"""Demo data for the seed_demo command: the names and weights it draws from (data), the demo
users (staff), the batch loader (loader) and its progress lines (progress)."""
