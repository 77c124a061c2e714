package io.ds4j.common.protocol;

import io.ds4j.common.CacheType;
import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;

import java.util.function.Function;

/**
 * The fields the object messages share (docs/protocol.md 5.13): the two parameter bytes of {@code OBJ_CREATE} and
 * {@code OBJ_PUT} (consistency type, cache type), and the flag bits of {@code OBJ_PUBLISH} and {@code OBJ_PUT}.
 * Nested keys are a key list ({@link BatchCodec}).
 */
final class ObjectParamsCodec
{
    /** Flag bit: seal the object once published. */
    static final int FLAG_SEAL = 0x01;
    /** Flag bit (OBJ_PUBLISH only): the client keeps no view of the published object. */
    static final int FLAG_DROP_VIEW = 0x02;

    private ObjectParamsCodec()
    {
    }

    static void writeParams(final BodyWriter out, final ConsistencyType consistency, final CacheType cacheType)
    {
        out.putByte(consistency.value()).putByte(cacheType.value());
    }

    /** @throws DsException INVALID for an unknown consistency type */
    static ConsistencyType readConsistency(final BodyReader in)
    {
        return ConsistencyType.of(in.getByte());
    }

    /**
     * Reads the cache type and hands it to {@code params} at once, before the rest of the request is read.
     *
     * @throws DsException INVALID for an unknown cache type; what {@code params} throws
     */
    static <P> P readCacheType(final BodyReader in, final Function<CacheType, P> params)
    {
        return params.apply(CacheType.of(in.getByte()));
    }

    static int flags(final boolean seal, final boolean dropView)
    {
        return (seal ? FLAG_SEAL : 0) | (dropView ? FLAG_DROP_VIEW : 0);
    }
}
