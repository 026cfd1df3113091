"""The Zalo channel on the Zalo Bot Platform: an own httpx client, updates in, outbox out."""
