"""A school's children, their incidents and their documents."""
