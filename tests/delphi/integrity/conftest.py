from tests.delphi.panelist.conftest import (  # noqa: F401 - fixtures
    fast_password_hashing,
    panelist_client,
    rnd,
)
