"""`python -m mock_idp`: serve the mock IdP in the foreground, its MockConfig JSON read from stdin."""

import argparse
import dataclasses
import sys

from mock_idp.config import MockConfig
from mock_idp.server import serve

# Configs are a few KiB; the bound keeps a runaway pipe from filling memory.
MAX_CONFIG = 1024 * 1024


def _announce(url: str) -> None:
    print(f"mock-idp listening on {url}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mock_idp",
        description="Serve the mock IdP (OpenID Provider and SAML IdP). The MockConfig JSON is "
        "read from stdin, so that client secrets and passwords never appear in argv or on disk.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a fault (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read(MAX_CONFIG + 1)
        if len(text) > MAX_CONFIG:
            raise ValueError(f"mock config is larger than {MAX_CONFIG} bytes")
        config = MockConfig.from_json(text)
        config = dataclasses.replace(config, faults=config.faults | set(args.fault))
    except ValueError as error:
        print(f"mock-idp: {error}", file=sys.stderr)
        return 2
    try:
        serve(config, args.host, args.port, ready=_announce)
    except OSError as error:
        print(f"mock-idp: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
