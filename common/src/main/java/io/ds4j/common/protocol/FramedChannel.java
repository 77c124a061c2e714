package io.ds4j.common.protocol;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;

/**
 * A blocking socket (TCP or Unix domain) that sends and receives whole frames. It owns one reusable writer and one
 * reusable read buffer, so steady traffic allocates nothing; it is used by one thread at a time.
 */
public final class FramedChannel implements Closeable
{
    private static final int INITIAL_CAPACITY = 64 * 1024;
    private static final int SHRINK_ABOVE = 4 << 20;
    private static final long MIN_BACKOFF_NANOS = 10_000;
    private static final long MAX_BACKOFF_NANOS = 500_000;

    private final SocketChannel channel;
    private final BodyWriter writer;
    private final BodyReader reader = new BodyReader();
    private ByteBuffer readBuffer;
    private MemorySegment readSegment;
    /** First buffered byte not yet handed out in a frame. */
    private int frameStart;
    /** End of the bytes read from the socket so far. */
    private int bufferedEnd;
    private int maxFrameLength;

    public FramedChannel(final SocketChannel channel, final int maxFrameLength)
    {
        this.channel = channel;
        this.maxFrameLength = maxFrameLength;
        this.writer = new BodyWriter(INITIAL_CAPACITY);
        allocateReadBuffer(INITIAL_CAPACITY);
    }

    private void allocateReadBuffer(final int capacity)
    {
        readBuffer = ByteBuffer.allocateDirect(capacity).order(ByteOrder.LITTLE_ENDIAN);
        readSegment = MemorySegment.ofBuffer(readBuffer);
    }

    public SocketChannel socket()
    {
        return channel;
    }

    /** The writer for the next outgoing frame; call {@link #send()} once it is filled. */
    public BodyWriter writer()
    {
        return writer;
    }

    public void maxFrameLength(final int maxFrameLength)
    {
        this.maxFrameLength = maxFrameLength;
    }

    public int maxFrameLength()
    {
        return maxFrameLength;
    }

    public void send() throws IOException
    {
        final ByteBuffer frame = writer.finish().frame();
        while (frame.hasRemaining())
        {
            channel.write(frame);
        }
    }

    /**
     * Sends the writer's frame followed by {@code raw}, the bytes that follow it on the socket, with one gathering
     * write where the socket takes them at once. The bytes are copied into the socket before this returns.
     */
    public void sendWithRaw(final ByteBuffer raw) throws IOException
    {
        final ByteBuffer[] parts = {writer.finish().frame(), raw};
        while (parts[0].hasRemaining() || parts[1].hasRemaining())
        {
            channel.write(parts);
        }
    }

    /**
     * Blocks until one whole frame has arrived and returns a reader over it, valid until the next call. Reads take
     * whatever the socket has, so a small frame costs one system call, and bytes of a following frame (a client may
     * send a release right before its next request) stay buffered for the next call.
     *
     * @throws EOFException when the peer closed the connection
     * @throws ProtocolException when the header is malformed; the caller closes the connection
     */
    public BodyReader receive() throws IOException
    {
        if (frameStart == bufferedEnd)
        {
            frameStart = 0;
            bufferedEnd = 0;
        }
        buffer(FrameHeader.HEADER_LENGTH);
        final int length = readBuffer.getInt(frameStart + FrameHeader.LENGTH_OFFSET);
        if (length < FrameHeader.HEADER_LENGTH || length > maxFrameLength)
        {
            throw new ProtocolException("frame length " + length + " is outside " + FrameHeader.HEADER_LENGTH
                + ".." + maxFrameLength);
        }
        buffer(length);
        reader.wrap(readBuffer, readSegment, frameStart, length);
        frameStart += length;
        return reader;
    }

    /** Reads until at least {@code needed} bytes from frameStart are buffered, compacting or growing first. */
    private void buffer(final int needed) throws IOException
    {
        if (bufferedEnd - frameStart >= needed)
        {
            return;
        }
        if (readBuffer.capacity() - frameStart < needed)
        {
            final ByteBuffer old = readBuffer;
            final int pending = bufferedEnd - frameStart;
            if (old.capacity() < needed)
            {
                allocateReadBuffer(Math.max(needed, (int) Math.min(maxFrameLength, 2L * old.capacity())));
            }
            readBuffer.put(0, old, frameStart, pending);
            frameStart = 0;
            bufferedEnd = pending;
        }
        final ByteBuffer target = readBuffer.duplicate().limit(readBuffer.capacity()).position(bufferedEnd);
        while (bufferedEnd - frameStart < needed)
        {
            final int read = channel.read(target);
            if (read < 0)
            {
                throw new EOFException(bufferedEnd == frameStart ? "peer closed the connection"
                    : "peer closed the connection in the middle of a frame");
            }
            bufferedEnd += read;
        }
    }

    /**
     * Reads raw bytes that follow a frame (a peer's bulk value) into {@code target} until it is full: first what was
     * already buffered past the last frame, then straight from the socket into the target, with no copy between.
     *
     * @throws EOFException when the peer closed the connection before all of them came
     */
    public void receiveRaw(final ByteBuffer target) throws IOException
    {
        final int buffered = Math.min(bufferedEnd - frameStart, target.remaining());
        if (buffered > 0)
        {
            target.put(readBuffer.duplicate().position(frameStart).limit(frameStart + buffered));
            frameStart += buffered;
        }
        while (target.hasRemaining())
        {
            if (channel.read(target) < 0)
            {
                throw new EOFException("peer closed the connection with " + target.remaining()
                    + " bytes of a value still to come");
            }
        }
    }

    /**
     * Sends {@code count} bytes of {@code file} from {@code position} after a frame (sendfile), in chunks. Call it on
     * a platform thread of a socket no virtual thread has blocked on: then each chunk blocks in the kernel until the
     * socket takes it, the cheapest way there is. Once a virtual thread blocked on a socket the JDK made it
     * non-blocking underneath for good, and transferTo answers 0 whenever the socket buffer is full; the back-off
     * below only keeps such a socket correct, at many times the CPU (the worker's peer link avoids it, see its
     * ReplyWriter).
     */
    public void sendFileRange(final java.nio.channels.FileChannel file, final long position, final long count,
        final long chunk) throws IOException
    {
        long sent = 0;
        long backoffNanos = MIN_BACKOFF_NANOS;
        while (sent < count)
        {
            final long n = file.transferTo(position + sent, Math.min(chunk, count - sent), channel);
            if (n > 0)
            {
                sent += n;
                backoffNanos = MIN_BACKOFF_NANOS;
                continue;
            }
            if (!channel.isOpen())
            {
                throw new EOFException("peer closed the connection during a transfer");
            }
            // the socket buffer is full on a socket the JDK made non-blocking underneath: wait rather than spin
            java.util.concurrent.locks.LockSupport.parkNanos(backoffNanos);
            backoffNanos = Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
        }
    }

    /**
     * Gives back buffers that one large frame grew, once nothing is pending: a connection that carried one 64 MiB
     * value inline should not keep 64 MiB for the rest of its life.
     */
    public void shrinkIfLarge()
    {
        if (readBuffer.capacity() > SHRINK_ABOVE && bufferedEnd == frameStart)
        {
            allocateReadBuffer(INITIAL_CAPACITY);
            frameStart = 0;
            bufferedEnd = 0;
        }
        writer.shrinkIfLarge(SHRINK_ABOVE, INITIAL_CAPACITY);
    }

    @Override
    public void close()
    {
        try
        {
            channel.close();
        }
        catch (final IOException ignored)
        {
            // closing a socket that is already broken has nothing left to report
        }
    }
}
