package io.ds4j.common.protocol;

/**
 * How a value travels in a {@code KV_GET} or {@code OBJ_GET} answer (docs/protocol.md 5.8, 5.17): the first byte of
 * each entry.
 */
public enum ValueKind
{
    /** The key does not exist (or has expired): nothing follows. */
    MISSING(0),
    /** The value's bytes follow in the frame. */
    INLINE(1),
    /** A reference into the shared-memory pool follows; the client holds a pin on it until it sends RELEASE. */
    POOL_VIEW(2);

    private static final ValueKind[] VALUES = values();
    private final int wire;

    ValueKind(final int wire)
    {
        this.wire = wire;
    }

    /** The byte that stands for this kind on the wire. */
    public int wire()
    {
        return wire;
    }

    /** @throws ProtocolException for a byte that is no kind */
    public static ValueKind of(final int wire)
    {
        if (wire < 0 || wire >= VALUES.length)
        {
            throw new ProtocolException("value kind " + wire + " is none of 0 (missing), 1 (inline), 2 (pool view)");
        }
        return VALUES[wire];
    }

    void write(final BodyWriter out)
    {
        out.putByte(wire);
    }

    static ValueKind read(final BodyReader in)
    {
        return of(in.getByte());
    }
}
