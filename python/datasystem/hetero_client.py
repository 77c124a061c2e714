"""The older package path (upstream 0.5): ``datasystem.hetero_client`` is ``yr.datasystem.hetero_client``."""
from yr.datasystem.hetero_client import *  # noqa: F401,F403
from yr.datasystem.hetero_client import __all__  # noqa: F401
