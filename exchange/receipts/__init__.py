"""Signed receipts for both schools, their countersignatures and the evidence pack."""
