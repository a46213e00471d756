"""Models of the customers app arrive with its issue."""
