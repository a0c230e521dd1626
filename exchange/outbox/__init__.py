"""Effects of a state change, written in its transaction and sent as tasks after commit."""
