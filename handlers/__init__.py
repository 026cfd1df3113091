"""Conversations and staff actions, written once against channel-neutral types."""
