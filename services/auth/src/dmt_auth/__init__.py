"""DMT auth service: users, login, access and refresh tokens."""
