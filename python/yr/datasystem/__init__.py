"""ds4j's pure-Python client with the upstream's ``yr.datasystem`` names (docs/python.md)."""
from ._status import Status
from ._types import CacheType, ConsistencyType, ExistenceOpt, WriteMode
from .ds_client import DsClient
from .hetero_client import Blob, DeviceBlobList, Future, HeteroClient, MetaInfo
from .kv_client import KVClient, ReadParam, SetParam
from .object_client import Buffer, ObjectClient

__version__ = "0.1.0"
__all__ = ["DsClient", "KVClient", "ObjectClient", "HeteroClient", "Buffer", "Blob", "DeviceBlobList", "MetaInfo",
           "Future", "SetParam", "ReadParam", "WriteMode", "ExistenceOpt", "CacheType", "ConsistencyType", "Status"]
