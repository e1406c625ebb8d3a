"""actuate layer."""
