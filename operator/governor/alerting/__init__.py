"""alerting layer."""
