"""Retention: rules to the 25th birthday, legal holds, notice, the purge and its certificates."""
