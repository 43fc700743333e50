"""Session fixtures of the sample SAML SP's tests: a stand-in IdP, its metadata, the running apps."""

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .saml_idp_double import IdpDouble, make_key_pair, metadata
from .sample_sp_process import ROOT, Apps

# `fixtures` is no installed package (pyproject packages harness and mock_idp): the sample apps run
# from the project root with `python -m`, and their tests import them from there too.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def idp() -> IdpDouble:
    return IdpDouble(make_key_pair("test IdP"), make_key_pair("stranger"))


@pytest.fixture(scope="session")
def idp_metadata(idp: IdpDouble, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("idp") / "metadata.xml"
    path.write_text(metadata(idp.keys.cert_pem))
    return path


@pytest.fixture(scope="session")
def sp_apps(idp_metadata: Path) -> Iterator[Apps]:
    with tempfile.TemporaryFile("w+") as stderr:
        apps = Apps(idp_metadata, stderr)
        yield apps
        codes = apps.stop()
        stderr.seek(0)
        # SIGTERM is the normal way to stop it: a clean exit.
        assert codes == [0] * len(codes), stderr.read()
