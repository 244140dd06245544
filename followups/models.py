"""Callbacks and their attempts arrive with the callback queue issue."""
