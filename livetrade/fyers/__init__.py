"""Fyers API v3: the sans-I/O codec, the asyncio stream, and the local fake server."""
