"""The web application: HTTP API, pages, storage and CLI. Nothing outside app/ imports it."""
