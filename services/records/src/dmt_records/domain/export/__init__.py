"""Exports of records as files (CSV and Excel) in the predecessor's 34 columns, streamed."""
