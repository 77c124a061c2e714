"""``yr.datasystem.hetero_client``: the upstream's device-object surface (``Blob``, ``DeviceBlobList``,
``HeteroClient``), ready for the worker's device-object messages.

This worker version has no device-object messages yet, so every call that moves device data (``mset_d2h``,
``mget_h2d``, their async forms, ``dev_*``) raises ``RuntimeError`` with ``code: [Not supported]`` and says so;
argument checks run first, exactly as they will then. ``delete``, ``exist`` and ``generate_key`` act on host
keys and work now.
"""
from . import _status
from ._base import ClientBase
from ._status import DsError
from ._types import check_types
from .kv_client import KVClient, SetParam

__all__ = ["HeteroClient", "Blob", "DeviceBlobList", "MetaInfo", "Future"]

_UNAVAILABLE = ("the device path is not available on this worker: this ds4j version has no device-object messages"
                " yet (docs/python.md, 'Device objects'); store host bytes with KVClient instead")
MAX_KEYS = 10000


class Blob:
    def __init__(self, dev_ptr, size):
        check_types(("dev_ptr", dev_ptr, int), ("size", size, int))
        self.dev_ptr = dev_ptr
        self.size = size

    def set_dev_ptr(self, dev_ptr):
        check_types(("dev_ptr", dev_ptr, int))
        self.dev_ptr = dev_ptr

    def set_size(self, size):
        check_types(("size", size, int))
        self.size = size

    def to_ds_blob(self):
        return self


class DeviceBlobList:
    def __init__(self, dev_idx, blob_list, src_offset=0):
        check_types(("dev_idx", dev_idx, int), ("blob_list", blob_list, list), ("src_offset", src_offset, int))
        for b in blob_list:
            check_types(("blob", b, Blob))
        self.dev_idx = dev_idx
        self.blob_list = list(blob_list)
        self.src_offset = src_offset

    def append_blob(self, blob):
        check_types(("blob", blob, Blob))
        self.blob_list.append(blob)

    def set_dev_idx(self, dev_idx):
        self.dev_idx = dev_idx

    def set_src_offset(self, src_offset):
        self.src_offset = src_offset

    def get_blob_list(self):
        return self.blob_list

    def to_ds_blob_list(self):
        return self


class MetaInfo:
    def __init__(self, blob_size_list=None):
        self.blob_size_list = blob_size_list or []


class Future:
    def __init__(self, failed_keys=None, error=None):
        self._failed = failed_keys or []
        self._error = error

    def get(self, timeout_ms=60000):
        if self._error is not None:
            raise self._error
        return self._failed


def _check_blobs(keys, data_blob_list):
    check_types(("keys", keys, list), ("data_blob_list", data_blob_list, list))
    if not keys or len(keys) > MAX_KEYS:
        raise DsError(_status.INVALID, "the keys should be 1..%d, got %d" % (MAX_KEYS, len(keys)))
    if len(keys) != len(data_blob_list):
        raise DsError(_status.INVALID, "%d keys but %d blob lists" % (len(keys), len(data_blob_list)))
    for k, bl in zip(keys, data_blob_list):
        check_types(("key", k, str), ("blob list", bl, DeviceBlobList))


def _check_multi(addrs, sizes):
    if type(addrs) is not list or type(sizes) is not list or not addrs or len(addrs) != len(sizes):
        raise ValueError("addrs and sizes should be non-empty lists of the same length")
    for a, s in zip(addrs, sizes):
        if type(a) is not list or type(s) is not list or not a or len(a) != len(s):
            raise ValueError("each inner addrs and sizes list should be non-empty and of the same length")


class HeteroClient(ClientBase):
    def __init__(self, host, port, connect_timeout_ms=9000, token="", client_public_key="", client_private_key="",
                 server_public_key="", access_key="", secret_key="", tenant_id="",
                 enable_cross_node_connection=False, req_timeout_ms=0, enable_remote_h2d=False):
        super().__init__(host, port, connect_timeout_ms, req_timeout_ms)

    def _unavailable(self):
        self._ready()
        raise DsError(_status.NOT_SUPPORTED, _UNAVAILABLE)

    def _kv(self):
        return KVClient._sharing(self._ready())

    # H2D / D2H
    def mset_d2h(self, keys, data_blob_list, set_param=SetParam()):
        _check_blobs(keys, data_blob_list)
        check_types(("set_param", set_param, SetParam))
        self._unavailable()

    def mget_h2d(self, keys, data_blob_list, sub_timeout_ms):
        _check_blobs(keys, data_blob_list)
        check_types(("sub_timeout_ms", sub_timeout_ms, int))
        self._unavailable()

    def async_mset_d2h(self, keys, data_blob_list, set_param=SetParam()):
        self.mset_d2h(keys, data_blob_list, set_param)

    def async_mget_h2d(self, keys, data_blob_list, sub_timeout_ms):
        self.mget_h2d(keys, data_blob_list, sub_timeout_ms)

    def mget_h2d_from_multi_buffers(self, keys, addrs, sizes, sub_timeout_ms=0):
        _check_multi(addrs, sizes)
        self._unavailable()

    def mset_d2h_from_multi_buffers(self, keys, addrs, sizes, set_param=SetParam()):
        _check_multi(addrs, sizes)
        self._unavailable()

    def pre_register_device_memory(self, dev_ptrs, sizes):
        check_types(("dev_ptrs", dev_ptrs, list), ("sizes", sizes, list))
        self._unavailable()

    # D2D
    def dev_mset(self, keys, data_blob_list):
        _check_blobs(keys, data_blob_list)
        self._unavailable()

    def dev_mget(self, keys, data_blob_list, sub_timeout_ms=0):
        _check_blobs(keys, data_blob_list)
        self._unavailable()

    def dev_publish(self, keys, data_blob_list):
        _check_blobs(keys, data_blob_list)
        self._unavailable()

    def dev_subscribe(self, keys, data_blob_list):
        _check_blobs(keys, data_blob_list)
        self._unavailable()

    def dev_delete(self, keys):
        check_types(("keys", keys, list))
        self._unavailable()

    def async_dev_delete(self, keys):
        self.dev_delete(keys)

    def dev_local_delete(self, keys):
        check_types(("keys", keys, list))
        self._unavailable()

    def get_meta_info(self, keys, is_dev_key):
        check_types(("keys", keys, list), ("is_dev_key", is_dev_key, bool))
        self._unavailable()

    # host keys
    def delete(self, keys=None):
        return self._kv().delete(keys)

    def exist(self, keys):
        return self._kv().exist(keys)

    def batch_is_exist(self, keys):
        return [1 if e else 0 for e in self._kv().exist(keys)]

    def generate_key(self, prefix=""):
        return self._kv().generate_key(prefix)
