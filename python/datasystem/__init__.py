"""The older package path (upstream 0.5): ``datasystem`` is ``yr.datasystem``."""
from yr.datasystem import *  # noqa: F401,F403
from yr.datasystem import __all__  # noqa: F401
