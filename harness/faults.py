"""The fault catalog: every named deviation of the bundled mock IdP and of the sample apps, in one list.

``--mock-fault NAME`` switches a fault on wherever it lives: the mock gets its own, each sample app
its own, so one catalog serves users and the self-test alike.
"""

from __future__ import annotations

from fixtures.apps.oidc_rp.faults import FAULTS as SAMPLE_OIDC_RP_FAULTS
from fixtures.apps.saml_sp.faults import FAULTS as SAMPLE_SAML_SP_FAULTS
from fixtures.apps.sample_cli.faults import FAULTS as SAMPLE_CLI_FAULTS
from fixtures.apps.spa.faults import FAULTS as SAMPLE_SPA_FAULTS
from mock_idp.faults import FAULTS as MOCK_FAULTS
from mock_idp.faults import Fault

#: who carries a fault: the mock IdP, or a sample app (named as in target files' launch commands)
MOCK, SAMPLE_SAML_SP, SAMPLE_OIDC_RP = "mock-idp", "sample-saml-sp", "sample-oidc-rp"
SAMPLE_SPA = "sample-spa"
#: the sample command-line tool (the harness runs it in a sandbox, passing {faults} in cli.env)
SAMPLE_CLI = "sample-cli"

CATALOG: dict[str, Fault] = {**MOCK_FAULTS, **{f.name: f for f in (*SAMPLE_SAML_SP_FAULTS, *SAMPLE_OIDC_RP_FAULTS,
                                                                   *SAMPLE_SPA_FAULTS)},
                           **{f.name: f for f in SAMPLE_CLI_FAULTS}}
OWNER: dict[str, str] = {**{name: MOCK for name in MOCK_FAULTS},
                         **{f.name: SAMPLE_SAML_SP for f in SAMPLE_SAML_SP_FAULTS},
                         **{f.name: SAMPLE_OIDC_RP for f in SAMPLE_OIDC_RP_FAULTS},
                         **{f.name: SAMPLE_SPA for f in SAMPLE_SPA_FAULTS},
                         **{f.name: SAMPLE_CLI for f in SAMPLE_CLI_FAULTS}}


def split(names: list[str]) -> dict[str, list[str]]:
    """The given fault names grouped by owner (unknown names are the caller's to refuse first)."""
    grouped: dict[str, list[str]] = {}
    for name in names:
        grouped.setdefault(OWNER[name], []).append(name)
    return grouped
