"""The older package path (upstream 0.5): ``datasystem.ds_client`` is ``yr.datasystem.ds_client``."""
from yr.datasystem.ds_client import *  # noqa: F401,F403
from yr.datasystem.ds_client import __all__  # noqa: F401
