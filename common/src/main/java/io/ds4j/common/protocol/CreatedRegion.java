package io.ds4j.common.protocol;

/**
 * One decoded region of a {@code KV_CREATE} reply item or an {@code OBJ_CREATE} reply (docs/protocol.md 5.5,
 * 5.14): where the worker reserved a value for the client to fill in place, or why it could not. A reusable
 * flyweight: one per connection, overwritten by each read.
 */
public final class CreatedRegion
{
    private int status;
    private String message;
    private long allocationId;
    private int segmentIndex;
    private long dataOffset;

    void created(final long allocationId, final int segmentIndex, final long dataOffset)
    {
        this.status = StatusCodec.OK;
        this.message = null;
        this.allocationId = allocationId;
        this.segmentIndex = segmentIndex;
        this.dataOffset = dataOffset;
    }

    void failed(final int status, final String message)
    {
        this.status = status;
        this.message = message;
        this.allocationId = 0;
        this.segmentIndex = 0;
        this.dataOffset = 0;
    }

    /** 0 when the region was created, else a {@code StatusCode} value. */
    public int status()
    {
        return status;
    }

    public boolean ok()
    {
        return status == StatusCodec.OK;
    }

    /** The reason an item failed; null when it was created. */
    public String message()
    {
        return message;
    }

    /** Names the region in KV_PUBLISH, OBJ_PUBLISH, KV_ABORT and the latch notices; checked against its header. */
    public long allocationId()
    {
        return allocationId;
    }

    public int segmentIndex()
    {
        return segmentIndex;
    }

    /** The value's first byte, from the start of the segment file; the object header is the 64 bytes before it. */
    public long dataOffset()
    {
        return dataOffset;
    }
}
