"""Synthetic demonstration data: two schools, their staff and a dozen invented pupils."""
