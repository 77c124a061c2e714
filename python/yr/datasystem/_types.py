"""The upstream's enums and argument checks, shared by the KV, object and hetero clients."""
from enum import Enum

from . import _status
from ._status import DsError

INT32_MAX = 2 ** 31 - 1
UINT32_MAX = 2 ** 32 - 1
UINT64_MAX = 2 ** 64 - 1


class WriteMode(Enum):
    NONE_L2_CACHE = 0
    WRITE_THROUGH_L2_CACHE = 1
    WRITE_BACK_L2_CACHE = 2
    NONE_L2_CACHE_EVICT = 3
    WRITE_BACK_L2_CACHE_EVICT = 4


class ConsistencyType(Enum):
    PRAM = 0
    CAUSAL = 1


class CacheType(Enum):
    MEMEORY = 0  # sic: the upstream's spelling, kept so callers' code runs
    DISK = 1


CacheType.MEMORY = CacheType.MEMEORY


class ExistenceOpt(Enum):
    NONE = 0
    NX = 1


def check_types(*triples):
    """Upstream ``Validator.check_args_types``: an exact ``type(x) is T`` check per argument, else TypeError."""
    for name, value, types in triples:
        types = types if isinstance(types, tuple) else (types,)
        if type(value) not in types:
            raise TypeError("The input of %s should be %s, but got %s"
                            % (name, " or ".join(t.__name__ for t in types), type(value).__name__))


def check_range(name, value, low, high):
    """Upstream ``Validator.check_param_range``: RuntimeError with the upstream's text."""
    if value < low or value > high:
        raise RuntimeError("Invalid %s size %d is set, which should be between [%d,%d]" % (name, value, low, high))


def check_uint32(name, value):
    # pybind raises TypeError for a uint32 argument out of range (ttl -1 or 2**32)
    check_types((name, value, int))
    if value < 0 or value > UINT32_MAX:
        raise TypeError("%s must be an unsigned 32-bit integer, got %d" % (name, value))


def check_key_list(name, keys, maximum, what="keys"):
    check_types((name, keys, list))
    if not keys:
        raise DsError(_status.INVALID, "The %s should not be empty." % what)
    if len(keys) > maximum:
        raise DsError(_status.INVALID, "The %s size exceed %d" % (what, maximum))
    for k in keys:
        check_types(("key", k, str))
        if not k:
            raise DsError(_status.INVALID, "The objectKey should not be empty.")


def as_buffer(name, value, allow_str=True):
    """bytes, bytearray, memoryview (or str, UTF-8 encoded) as something the socket and mmap accept."""
    if allow_str:
        check_types((name, value, (bytes, bytearray, memoryview, str)))
    else:
        check_types((name, value, (bytes, bytearray, memoryview)))
    if type(value) is str:
        return value.encode("utf-8")
    if type(value) is memoryview and (value.format != "B" or not value.c_contiguous):
        return value.cast("B") if value.c_contiguous else value.tobytes()
    return value


def nbytes(value):
    return value.nbytes if type(value) is memoryview else len(value)


def failed_keys(failures, total, operation):
    """Batch results as upstream: the failed keys; RuntimeError with the first failure only when all failed."""
    if not failures:
        return []
    if len(failures) == total:
        key, code, message = failures[0]
        raise DsError(code, "%s failed for all %d keys; first: %s: %s" % (operation, total, key, message))
    return [key for key, _, _ in failures]
