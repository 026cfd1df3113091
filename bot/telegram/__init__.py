"""The Telegram channel, on aiogram 3: updates in, outbox messages out."""
