"""DMT records: nonconformance records in five sections, from inspection to closing."""
