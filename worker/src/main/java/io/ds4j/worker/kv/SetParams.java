package io.ds4j.worker.kv;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;

/** A set's parameters as they arrive on the wire (the SDK's SetParam). */
public record SetParams(WriteMode writeMode, ExistenceOpt existence, CacheType cacheType, int ttlSecond)
{
    public static final SetParams DEFAULT = new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NONE,
        CacheType.MEMORY, 0);

    public SetParams
    {
        if (ttlSecond < 0)
        {
            throw new DsException(StatusCode.INVALID, "ttl_second must be 0 (never expires) or positive, not "
                + ttlSecond);
        }
        if (cacheType == CacheType.DISK)
        {
            throw new DsException(StatusCode.NOT_SUPPORTED, "cache type DISK needs the worker's disk tier, which this"
                + " worker does not have; use CacheType.MEMORY");
        }
    }
}
