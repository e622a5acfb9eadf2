"""Reports: several formats from one run, all built from one document (schema v1)."""
