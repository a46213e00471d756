"""Models of the interactions app arrive with its issue."""
