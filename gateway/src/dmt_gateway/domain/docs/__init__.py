"""The public API documents: one merged OpenAPI document and Swagger UI."""
