"""Helpers the API and the dashboard both use; nothing here imports either of them."""
