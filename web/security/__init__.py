"""Browser hardening of the web process: security headers on every HTTP response."""
