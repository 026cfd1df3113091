"""The channel-neutral domain: people, organisation, reports and their rules.

Nothing here imports a messaging, storage or scheduling framework (see the import-linter
contracts in pyproject.toml).
"""
