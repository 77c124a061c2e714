"""The older package path (upstream 0.5): ``datasystem.util`` is ``yr.datasystem.util``."""
from yr.datasystem.util import *  # noqa: F401,F403
from yr.datasystem.util import __all__  # noqa: F401
