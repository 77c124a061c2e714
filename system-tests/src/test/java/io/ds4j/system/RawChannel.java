package io.ds4j.system;

import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.FrameHeader;
import io.ds4j.common.protocol.MessageType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A raw connection to a worker (TCP or its Unix socket) that writes arbitrary bytes and reads whole frames with a
 * timeout, for feeding the worker malformed input.
 */
final class RawChannel implements AutoCloseable
{
    /** What came back: a frame, the peer closing the connection, or nothing within the timeout. */
    sealed interface Outcome permits Frame, Closed, Silent
    {
    }

    record Frame(int length, short type, short flags, long correlationId, ByteBuffer body) implements Outcome
    {
        boolean isResponse()
        {
            return (flags & FrameHeader.FLAG_RESPONSE) != 0;
        }

        /** The status word that starts every response body. */
        int status()
        {
            return body.getInt(0);
        }

        /** The message after the status in an error response. */
        String errorMessage()
        {
            final ByteBuffer b = body.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            b.position(4);
            if (b.remaining() < 4)
            {
                return "";
            }
            final int length = b.getInt();
            if (length < 0 || length > b.remaining())
            {
                return "";
            }
            final byte[] bytes = new byte[length];
            b.get(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    record Closed(String how) implements Outcome
    {
    }

    record Silent() implements Outcome
    {
    }

    private final SocketChannel channel;
    private final Selector selector;
    private final ByteBuffer in = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private long correlation = 1;

    private RawChannel(final SocketChannel channel) throws IOException
    {
        this.channel = channel;
        channel.configureBlocking(false);
        selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
        in.limit(0);
    }

    static RawChannel tcp(final String host, final int port)
    {
        try
        {
            final SocketChannel channel = SocketChannel.open(new InetSocketAddress(host, port));
            return new RawChannel(channel);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }

    static RawChannel unix(final Path path)
    {
        try
        {
            final SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(path));
            return new RawChannel(channel);
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes all of {@code bytes}; returns false if the peer closed the connection first (a worker may close on the
     * first bad frame while the rest is still being written).
     */
    boolean write(final ByteBuffer bytes)
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        try
        {
            while (bytes.hasRemaining())
            {
                if (channel.write(bytes) == 0)
                {
                    if (System.nanoTime() > deadline)
                    {
                        throw new IllegalStateException("the worker stopped reading for 10 s");
                    }
                    Thread.sleep(1);
                }
            }
            return true;
        }
        catch (final IOException e)
        {
            return false;
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    boolean write(final byte[] bytes)
    {
        return write(ByteBuffer.wrap(bytes));
    }

    /** A frame built with the protocol's own writer. */
    static ByteBuffer frame(final short type, final short flags, final long correlationId,
        final java.util.function.Consumer<BodyWriter> body)
    {
        final BodyWriter writer = new BodyWriter(256);
        writer.begin(type, flags, correlationId);
        body.accept(writer);
        writer.finish();
        final ByteBuffer frame = writer.frame();
        final ByteBuffer copy = ByteBuffer.allocate(frame.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(frame).flip();
        return copy;
    }

    /** Sends a request frame and returns its correlation id. */
    long send(final short type, final java.util.function.Consumer<BodyWriter> body)
    {
        final long id = correlation++;
        write(frame(type, (short) 0, id, body));
        return id;
    }

    /** A valid HELLO of the current protocol version (no shared memory) and its reply. */
    Outcome hello()
    {
        send(MessageType.HELLO, w -> w.putInt(MessageType.PROTOCOL_VERSION).putLong(ProcessHandle.current().pid())
            .putLong(0).putLong(0).putBoolean(false));
        return read(5000);
    }

    /** Shuts down the sending side, as a client that wrote a partial frame and then closed would. */
    void shutdownOutput()
    {
        try
        {
            channel.shutdownOutput();
        }
        catch (final IOException e)
        {
            // already closed by the peer
        }
    }

    /** The next frame, or how the connection ended, waiting at most {@code timeoutMs}. */
    Outcome read(final long timeoutMs)
    {
        final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        try
        {
            while (true)
            {
                if (in.remaining() >= FrameHeader.HEADER_LENGTH)
                {
                    final int start = in.position();
                    final int length = in.getInt(start);
                    if (length < FrameHeader.HEADER_LENGTH || length > in.capacity())
                    {
                        throw new IllegalStateException("the worker sent a frame of length " + length);
                    }
                    if (in.remaining() >= length)
                    {
                        final ByteBuffer body = ByteBuffer.allocate(length - FrameHeader.HEADER_LENGTH)
                            .order(ByteOrder.LITTLE_ENDIAN);
                        body.put(0, in, start + FrameHeader.HEADER_LENGTH, body.capacity());
                        final Frame frame = new Frame(length, in.getShort(start + FrameHeader.TYPE_OFFSET),
                            in.getShort(start + FrameHeader.FLAGS_OFFSET),
                            in.getLong(start + FrameHeader.CORRELATION_OFFSET), body);
                        in.position(start + length);
                        return frame;
                    }
                }
                final long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0)
                {
                    return new Silent();
                }
                selector.select(left);
                selector.selectedKeys().clear();
                in.compact();
                final int read;
                try
                {
                    read = channel.read(in);
                }
                finally
                {
                    in.flip();
                }
                if (read < 0)
                {
                    return new Closed("EOF");
                }
            }
        }
        catch (final IOException e)
        {
            return new Closed(e.toString());
        }
    }

    /** Reads and drops frames until the connection closes or goes silent for {@code timeoutMs}. */
    Outcome readUntilClosed(final long timeoutMs)
    {
        while (true)
        {
            final Outcome outcome = read(timeoutMs);
            if (!(outcome instanceof Frame))
            {
                return outcome;
            }
        }
    }

    @Override
    public void close()
    {
        try
        {
            selector.close();
            channel.close();
        }
        catch (final IOException e)
        {
            // nothing to do
        }
    }
}
