"""The transfer policy: each school's category tree and which categories go with the child."""
