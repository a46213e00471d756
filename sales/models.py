"""Models of the sales app arrive with its issue."""
