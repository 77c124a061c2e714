package io.ds4j.common.protocol;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads one received frame. Every length read from the body is checked against the bytes left in the frame, so a
 * malformed or hostile frame ends in a {@link ProtocolException} with the reason, never in a huge allocation or an
 * out-of-bounds read.
 */
public final class BodyReader
{
    private ByteBuffer buffer;
    private MemorySegment segment;
    private int position;
    private int end;
    private short type;
    private short flags;
    private long correlationId;

    /** Reads the frame at [start, start + length) of the channel's buffer (absolute indices, no slices). */
    void wrap(final ByteBuffer source, final MemorySegment sourceSegment, final int start, final int length)
    {
        buffer = source;
        segment = sourceSegment;
        end = start + length;
        type = buffer.getShort(start + FrameHeader.TYPE_OFFSET);
        flags = buffer.getShort(start + FrameHeader.FLAGS_OFFSET);
        correlationId = buffer.getLong(start + FrameHeader.CORRELATION_OFFSET);
        position = start + FrameHeader.HEADER_LENGTH;
    }

    public short type()
    {
        return type;
    }

    public short flags()
    {
        return flags;
    }

    public boolean isResponse()
    {
        return (flags & FrameHeader.FLAG_RESPONSE) != 0;
    }

    public boolean expectsReply()
    {
        return (flags & FrameHeader.FLAG_NO_REPLY) == 0;
    }

    public long correlationId()
    {
        return correlationId;
    }

    public int remaining()
    {
        return end - position;
    }

    private void need(final long bytes, final String what)
    {
        if (bytes < 0 || bytes > end - position)
        {
            throw new ProtocolException(MessageType.name(type) + ": " + what + " needs " + bytes
                + " bytes but the frame has " + (end - position) + " left");
        }
    }

    public int getByte()
    {
        need(1, "a byte");
        return buffer.get(position++) & 0xFF;
    }

    public boolean getBoolean()
    {
        return getByte() != 0;
    }

    public int getInt()
    {
        need(4, "an int");
        final int value = buffer.getInt(position);
        position += 4;
        return value;
    }

    public long getLong()
    {
        need(8, "a long");
        final long value = buffer.getLong(position);
        position += 8;
        return value;
    }

    /** The next long without moving past it (a codec that decides how to handle a body before reading it). */
    public long peekLong()
    {
        need(8, "a long");
        return buffer.getLong(position);
    }

    /** A count of items that each take at least {@code minItemBytes}: checked before anyone allocates for them. */
    public int getCount(final int minItemBytes, final int max)
    {
        final int count = getInt();
        if (count < 0 || count > max)
        {
            throw new ProtocolException(MessageType.name(type) + ": count " + count + " is outside 0.." + max);
        }
        need((long) count * minItemBytes, count + " items");
        return count;
    }

    public String getString()
    {
        final int length = getInt();
        if (length == -1)
        {
            return null;
        }
        need(length, "a string of " + length + " bytes");
        final byte[] bytes = new byte[length];
        buffer.get(position, bytes);
        position += length;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    public byte[] getBytes()
    {
        final int length = getInt();
        if (length == -1)
        {
            return null;
        }
        need(length, "a value of " + length + " bytes");
        final byte[] bytes = new byte[length];
        buffer.get(position, bytes);
        position += length;
        return bytes;
    }

    /**
     * A length-prefixed byte field as a slice of the received frame, valid only until the next frame is read on
     * this channel: the worker copies it straight into the pool without an intermediate array.
     */
    public MemorySegment getBytesInPlace()
    {
        final int length = getInt();
        need(length, "a value of " + length + " bytes");
        final MemorySegment slice = segment.asSlice(position, length);
        position += length;
        return slice;
    }

    /** Skips the rest of the frame; used before answering a request that failed validation. */
    public void skipRest()
    {
        position = end;
    }
}
