"""Many replications: runner and backends, metrics, invariants, checks, compare, folders."""
