"""Status codes with the upstream's numbers, and the upstream's error shape.

Upstream turns a failed native ``Status`` into ``RuntimeError(status.to_string())`` whose text is
``code: [<code name>], msg: [<message>]``; callers regex either part, so the names below are the upstream's
wording where it is known (``Key not found``, ``Invalid parameter``) and a readable form of the code otherwise.
"""

OK = 0
INVALID = 2
NOT_FOUND = 3
RUNTIME_ERROR = 5
OUT_OF_MEMORY = 6
NOT_READY = 8
UNKNOWN_ERROR = 10
TRY_AGAIN = 19
DATA_INCONSISTENCY = 20
SHUTTING_DOWN = 21
CLIENT_WORKER_DISCONNECT = 23
NOT_SUPPORTED = 36
RPC_DEADLINE_EXCEEDED = 1001
RPC_UNAVAILABLE = 1002
OC_ALREADY_SEALED = 2000
OC_OBJECT_NOT_IN_USED = 2001
BUFFER_DEPRECATED = 2006

_NAMES = {
    0: "OK", 1: "Duplicated", 2: "Invalid parameter", 3: "Key not found", 4: "KV store error",
    5: "Runtime error", 6: "Out of memory", 7: "IO error", 8: "Not ready", 9: "Not authorized",
    10: "Unknown error", 11: "Interrupted", 12: "Out of range", 13: "No space", 14: "Not leader master",
    15: "Recovery error", 16: "Recovery in progress", 17: "File name too long", 18: "File limit reached",
    19: "Try again", 20: "Data inconsistency", 21: "Shutting down", 22: "Worker abnormal",
    23: "Client worker disconnect", 24: "Worker timeout", 25: "Master timeout", 27: "Replica not ready",
    28: "Client worker version mismatch", 29: "Server fd closed", 30: "Retry if leaving", 31: "Scale down",
    32: "Scaling", 33: "Client deadlock", 34: "LRU hard limit", 35: "LRU soft limit", 36: "Not supported",
    37: "No available worker", 38: "Not owner", 1000: "RPC cancelled", 1001: "RPC deadline exceeded",
    1002: "RPC unavailable", 1003: "RPC stream end", 2000: "Object already sealed",
    2001: "Object not in use", 2004: "Key already exists", 2006: "Buffer deprecated",
    5000: "ACL error", 5001: "HCCL error", 5002: "The future is timeout", 5003: "CUDA error", 5004: "NCCL error",
}


def code_name(code):
    return _NAMES.get(code, "Unknown error")


class DsError(RuntimeError):
    """The upstream's RuntimeError, with the numeric code kept for callers that want it (``.code``)."""

    def __init__(self, code, message):
        super().__init__("code: [%s], msg: [%s]" % (code_name(code), message))
        self.code = code
        self.message = message


class Status:
    """Upstream ``yr.datasystem.util.Status``: what ``health_check`` returns."""

    def __init__(self, code=OK, message=""):
        self.code = code
        self.message = message

    def is_ok(self):
        return self.code == OK

    def is_error(self):
        return self.code != OK

    def to_string(self):
        return "code: [%s], msg: [%s]" % (code_name(self.code), self.message)

    def __repr__(self):
        return "Status(%s)" % self.to_string()
