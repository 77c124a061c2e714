package io.ds4j.common.protocol;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes one frame into a reusable, growable direct buffer: {@link #begin} reserves the header, the put methods
 * append the body, {@link #finish} fills in the length. Primitives are little-endian; strings and byte arrays
 * are an int32 length followed by the bytes (length -1 is null). One per connection, so the hot path reuses it.
 */
public final class BodyWriter
{
    private ByteBuffer buffer;
    private MemorySegment segment;

    public BodyWriter(final int initialCapacity)
    {
        allocate(Math.max(initialCapacity, 256));
    }

    private void allocate(final int capacity)
    {
        buffer = ByteBuffer.allocateDirect(capacity).order(ByteOrder.LITTLE_ENDIAN);
        segment = MemorySegment.ofBuffer(buffer);
    }

    public BodyWriter begin(final short type, final short flags, final long correlationId)
    {
        buffer.clear();
        buffer.putInt(0).putShort(type).putShort(flags).putLong(correlationId);
        return this;
    }

    /** Starts a response to a request: the response flag and the request's correlation id, then the status. */
    public BodyWriter beginResponse(final short type, final long correlationId, final int status)
    {
        begin(type, FrameHeader.FLAG_RESPONSE, correlationId);
        buffer.putInt(status);
        return this;
    }

    /** Ensures room for {@code bytes} more; grows by doubling, so a steady workload stops allocating. */
    public void ensure(final long bytes)
    {
        final long needed = (long) buffer.position() + bytes;
        if (needed > buffer.capacity())
        {
            if (needed > FrameHeader.ABSOLUTE_MAX_FRAME_LENGTH)
            {
                throw new ProtocolException("frame of " + needed + " bytes exceeds the limit of "
                    + FrameHeader.ABSOLUTE_MAX_FRAME_LENGTH);
            }
            final long grown = Math.min(FrameHeader.ABSOLUTE_MAX_FRAME_LENGTH,
                Math.max(needed, 2L * buffer.capacity()));
            final ByteBuffer old = buffer;
            allocate((int) grown);
            old.flip();
            buffer.put(old);
        }
    }

    public BodyWriter putByte(final int value)
    {
        ensure(1);
        buffer.put((byte) value);
        return this;
    }

    public BodyWriter putBoolean(final boolean value)
    {
        return putByte(value ? 1 : 0);
    }

    public BodyWriter putInt(final int value)
    {
        ensure(4);
        buffer.putInt(value);
        return this;
    }

    public BodyWriter putLong(final long value)
    {
        ensure(8);
        buffer.putLong(value);
        return this;
    }

    /** Keys are ASCII by the key rules, so the common case writes chars straight in without an encoder. */
    public BodyWriter putString(final String value)
    {
        if (value == null)
        {
            return putInt(-1);
        }
        final int length = value.length();
        ensure(4L + length);
        final int lengthPosition = buffer.position();
        buffer.putInt(length);
        for (int i = 0; i < length; i++)
        {
            final char c = value.charAt(i);
            if (c >= 0x80)
            {
                buffer.position(lengthPosition);
                final byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
                return putBytes(utf8, 0, utf8.length);
            }
            buffer.put((byte) c);
        }
        return this;
    }

    public BodyWriter putBytes(final byte[] value)
    {
        return value == null ? putInt(-1) : putBytes(value, 0, value.length);
    }

    public BodyWriter putBytes(final byte[] value, final int offset, final int length)
    {
        ensure(4L + length);
        buffer.putInt(length);
        buffer.put(value, offset, length);
        return this;
    }

    /** Appends a length-prefixed copy of {@code source}. */
    public BodyWriter putBytes(final MemorySegment source)
    {
        final long length = source.byteSize();
        ensure(4L + length);
        buffer.putInt((int) length);
        final int position = buffer.position();
        MemorySegment.copy(source, 0, segment, position, length);
        buffer.position(position + (int) length);
        return this;
    }

    /** Writes the frame length; the buffer is then ready for {@link #frame()}. */
    public BodyWriter finish()
    {
        buffer.putInt(FrameHeader.LENGTH_OFFSET, buffer.position());
        return this;
    }

    /** The finished frame, flipped for writing to a channel. */
    public ByteBuffer frame()
    {
        return buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN).flip();
    }

    /** Replaces a buffer that one large frame grew beyond {@code above} with a fresh one of {@code capacity}. */
    public void shrinkIfLarge(final int above, final int capacity)
    {
        if (buffer.capacity() > above)
        {
            allocate(capacity);
        }
    }

    public int length()
    {
        return buffer.position();
    }

    /** Low-level access for writers that patch a count after the fact. */
    public int position()
    {
        return buffer.position();
    }

    public void putIntAt(final int position, final int value)
    {
        buffer.putInt(position, value);
    }
}
