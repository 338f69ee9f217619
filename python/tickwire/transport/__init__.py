"""Transports: the picows WebSocket client (``ws``) and the lean HTTP/1.1 client (``http``)."""
