"""The web page: one HTML page and its files, served by the gateway at ``/``, and QR codes of records."""
