"""CLI logout conformance: a command-line tool logged in and out in a sandbox (the Salesforce CLI and Atmos contracts)."""
