"""The older package path (upstream 0.5): ``datasystem.kv_client`` is ``yr.datasystem.kv_client``."""
from yr.datasystem.kv_client import *  # noqa: F401,F403
from yr.datasystem.kv_client import __all__  # noqa: F401
