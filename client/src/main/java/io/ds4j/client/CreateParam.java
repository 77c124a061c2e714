package io.ds4j.client;

import io.ds4j.common.CacheType;
import io.ds4j.common.ConsistencyType;

/**
 * Parameters of an object, as upstream's CreateParam: consistency type (default PRAM) and cache type (MEMORY; DISK
 * needs a disk tier this worker does not have and fails with NOT_SUPPORTED, as for KV). Objects are cache-only
 * (write mode NONE_L2_CACHE): kept in memory or spilled, never dropped, never written to L2.
 */
public record CreateParam(ConsistencyType consistencyType, CacheType cacheType)
{
    public static final CreateParam DEFAULT = new CreateParam(ConsistencyType.PRAM, CacheType.MEMORY);

    public CreateParam
    {
        if (consistencyType == null || cacheType == null)
        {
            throw new IllegalArgumentException("consistencyType and cacheType must not be null");
        }
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /** Builder starting from the defaults. */
    public static final class Builder
    {
        private ConsistencyType consistencyType = ConsistencyType.PRAM;
        private CacheType cacheType = CacheType.MEMORY;

        public Builder consistencyType(final ConsistencyType value)
        {
            consistencyType = value;
            return this;
        }

        public Builder cacheType(final CacheType value)
        {
            cacheType = value;
            return this;
        }

        public CreateParam build()
        {
            return new CreateParam(consistencyType, cacheType);
        }
    }
}
