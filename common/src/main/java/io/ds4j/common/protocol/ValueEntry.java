package io.ds4j.common.protocol;

/**
 * One decoded entry of a {@code KV_GET} or {@code OBJ_GET} reply (docs/protocol.md 5.8, 5.17): its kind, for
 * objects the version and sealed flag, and for a {@link ValueKind#POOL_VIEW} where the value lies in the pool. An
 * {@link ValueKind#INLINE} entry's bytes are not read into it: they follow in the frame, and the caller takes them
 * right away, copied or in place, with the codec's {@code readInline} methods. A reusable flyweight: one per
 * connection, overwritten by each read.
 */
public final class ValueEntry
{
    private ValueKind kind = ValueKind.MISSING;
    private long version;
    private boolean sealed;
    private long allocationId;
    private int segmentIndex;
    private long dataOffset;
    private long dataSize;

    void header(final ValueKind kind, final long version, final boolean sealed)
    {
        this.kind = kind;
        this.version = version;
        this.sealed = sealed;
        this.allocationId = 0;
        this.segmentIndex = 0;
        this.dataOffset = 0;
        this.dataSize = 0;
    }

    /** Reads a pool reference: allocation id, segment index, data offset, data size. */
    void readView(final BodyReader in)
    {
        allocationId = in.getLong();
        segmentIndex = in.getInt();
        dataOffset = in.getLong();
        dataSize = in.getLong();
    }

    static void writeView(final BodyWriter out, final long allocationId, final int segmentIndex,
        final long dataOffset, final long dataSize)
    {
        out.putLong(allocationId).putInt(segmentIndex).putLong(dataOffset).putLong(dataSize);
    }

    public ValueKind kind()
    {
        return kind;
    }

    /** The object's version (OBJ_GET; 0 for KV_GET and missing entries). */
    public long version()
    {
        return version;
    }

    /** Whether the object is sealed (OBJ_GET only). */
    public boolean sealed()
    {
        return sealed;
    }

    /** POOL_VIEW: must match the object header in front of the value. */
    public long allocationId()
    {
        return allocationId;
    }

    /** POOL_VIEW: the segment that holds the value. */
    public int segmentIndex()
    {
        return segmentIndex;
    }

    /** POOL_VIEW: the value's first byte, from the start of the segment file. */
    public long dataOffset()
    {
        return dataOffset;
    }

    /** POOL_VIEW: the value's size in bytes. */
    public long dataSize()
    {
        return dataSize;
    }
}
