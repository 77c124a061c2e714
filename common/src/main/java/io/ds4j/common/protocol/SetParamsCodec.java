package io.ds4j.common.protocol;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.WriteMode;

/**
 * The 7-byte parameter block that starts {@code KV_SET} and {@code KV_CREATE} (docs/protocol.md 5.3): write mode,
 * existence and cache type (one byte each, the enums' upstream numbers), then the TTL in seconds.
 */
public final class SetParamsCodec
{
    /**
     * Builds the reader's own parameter type from the decoded fields, and may refuse them (a DsException, which
     * fails the whole request). A constructor reference such as {@code SetParams::new} allocates nothing per call.
     */
    @FunctionalInterface
    public interface Factory<P>
    {
        P of(WriteMode writeMode, ExistenceOpt existence, CacheType cacheType, int ttlSecond);
    }

    private SetParamsCodec()
    {
    }

    public static void write(final BodyWriter out, final WriteMode writeMode, final ExistenceOpt existence,
        final CacheType cacheType, final int ttlSecond)
    {
        out.putByte(writeMode.value()).putByte(existence.value()).putByte(cacheType.value()).putInt(ttlSecond);
    }

    /**
     * Reads the block; each byte is checked as soon as it is read, so a bad value fails before the rest is read.
     *
     * @throws DsException INVALID for an unknown write mode, existence or cache type; whatever {@code factory} throws
     */
    static <P> P read(final BodyReader in, final Factory<P> factory)
    {
        final WriteMode writeMode = WriteMode.of(in.getByte());
        final ExistenceOpt existence = ExistenceOpt.of(in.getByte());
        final CacheType cacheType = CacheType.of(in.getByte());
        return factory.of(writeMode, existence, cacheType, in.getInt());
    }
}
