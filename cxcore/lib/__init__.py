"""Framework-free helpers shared by every app."""
