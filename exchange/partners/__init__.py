"""The partner directory: other schools, their keys, and who confirmed them by phone."""
