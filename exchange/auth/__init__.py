"""Sign-in: passwords, the TOTP second factor, roles and permissions, invitations, API tokens."""
