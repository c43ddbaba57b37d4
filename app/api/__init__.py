"""The OpenAI-compatible API on the page's port: routes (routes.py), OpenAI's shapes (openai_format.py), API keys
(keys.py) and rate limits (ratelimit.py)."""
