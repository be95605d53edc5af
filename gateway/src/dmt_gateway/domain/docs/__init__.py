"""The public API documents: one merged OpenAPI document, Swagger UI and the home page."""
