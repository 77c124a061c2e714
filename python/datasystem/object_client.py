"""The older package path (upstream 0.5): ``datasystem.object_client`` is ``yr.datasystem.object_client``."""
from yr.datasystem.object_client import *  # noqa: F401,F403
from yr.datasystem.object_client import __all__  # noqa: F401
