"""OpenID Connect for the harness: JOSE, discovery, and logging in through the forms an OP serves."""
