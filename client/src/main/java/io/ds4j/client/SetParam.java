package io.ds4j.client;

import io.ds4j.common.CacheType;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.WriteMode;

/**
 * Parameters of a set, as upstream: write mode (default NONE_L2_CACHE), TTL in seconds (0: never expires),
 * existence option (NONE overwrites, NX keeps an existing value), cache type (MEMORY).
 */
public record SetParam(WriteMode writeMode, int ttlSecond, ExistenceOpt existence, CacheType cacheType)
{
    public static final SetParam DEFAULT = new SetParam(WriteMode.NONE_L2_CACHE, 0, ExistenceOpt.NONE,
        CacheType.MEMORY);

    public SetParam
    {
        if (writeMode == null || existence == null || cacheType == null)
        {
            throw new IllegalArgumentException("writeMode, existence and cacheType must not be null");
        }
        if (ttlSecond < 0)
        {
            throw new IllegalArgumentException("ttlSecond must be 0 (never expires) or positive, not " + ttlSecond);
        }
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /** Builder starting from the defaults. */
    public static final class Builder
    {
        private WriteMode writeMode = WriteMode.NONE_L2_CACHE;
        private int ttlSecond;
        private ExistenceOpt existence = ExistenceOpt.NONE;
        private CacheType cacheType = CacheType.MEMORY;

        public Builder writeMode(final WriteMode value)
        {
            writeMode = value;
            return this;
        }

        public Builder ttlSecond(final int value)
        {
            ttlSecond = value;
            return this;
        }

        public Builder existence(final ExistenceOpt value)
        {
            existence = value;
            return this;
        }

        public Builder cacheType(final CacheType value)
        {
            cacheType = value;
            return this;
        }

        public SetParam build()
        {
            return new SetParam(writeMode, ttlSecond, existence, cacheType);
        }
    }
}
