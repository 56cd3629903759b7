"""The HTTP API (FastAPI): app factory, one router per resource, pydantic schemas."""
