"""Backend-independent feed logic: ids, validation, feed groups, aggregation."""
