"""Subject access requests: a parent's or a young person's request, answered within the month."""
