"""Transfers of a child's file between schools: the state machine and its steps."""
