"""``yr.datasystem.util``: Status and the argument checks, under the upstream's names."""
from ._status import Status
from ._types import INT32_MAX, UINT64_MAX, check_range, check_types


class Validator:
    INT32_MAX_SIZE = INT32_MAX
    UINT64_MAX_SIZE = UINT64_MAX

    @staticmethod
    def check_args_types(args):
        check_types(*[(name, value, t) for name, value, t in args])

    @staticmethod
    def check_param_range(name, value, low, high):
        check_range(name, value, low, high)


__all__ = ["Status", "Validator"]
