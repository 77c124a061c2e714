package io.ds4j.benchmarks;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The ceiling of any unbatched request-response protocol on this machine: a bare echo over a blocking socket (Unix
 * domain or TCP loopback), a fixed-size request answered by a fixed-size reply, one thread per connection on the
 * server side, as the worker does. Nothing is parsed and nothing stored, so ds4j and redis can at best reach it.
 */
final class PingPong implements AutoCloseable
{
    private final ServerSocketChannel server;
    private final boolean unix;
    private final Path socketPath;
    private final int requestSize;
    private final int replySize;
    private volatile boolean closed;

    PingPong(final boolean unix, final int requestSize, final int replySize) throws IOException
    {
        this.unix = unix;
        this.requestSize = requestSize;
        this.replySize = replySize;
        if (unix)
        {
            socketPath = Files.createTempFile(Path.of("/tmp"), "dsb-pp-", ".sock");
            Files.delete(socketPath);
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socketPath));
        }
        else
        {
            socketPath = null;
            server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        }
        Children.register(this::closeQuietly);
        Thread.ofPlatform().daemon().name("dsbench-echo-accept").start(this::acceptLoop);
    }

    private void acceptLoop()
    {
        while (!closed)
        {
            try
            {
                final SocketChannel socket = server.accept();
                if (!unix)
                {
                    socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
                }
                Thread.ofPlatform().daemon().name("dsbench-echo").start(() -> serve(socket));
            }
            catch (final IOException e)
            {
                return;
            }
        }
    }

    private void serve(final SocketChannel socket)
    {
        final ByteBuffer in = ByteBuffer.allocateDirect(requestSize);
        final ByteBuffer out = ByteBuffer.allocateDirect(replySize);
        try (socket)
        {
            while (!closed)
            {
                in.clear();
                readFully(socket, in);
                out.clear();
                while (out.hasRemaining())
                {
                    socket.write(out);
                }
            }
        }
        catch (final IOException e)
        {
            // the client closed its end
        }
    }

    private static void readFully(final SocketChannel socket, final ByteBuffer buffer) throws IOException
    {
        while (buffer.hasRemaining())
        {
            if (socket.read(buffer) < 0)
            {
                throw new EOFException();
            }
        }
    }

    /** A client connection: each {@code run} is one round trip. */
    Load.Op client() throws IOException
    {
        final SocketAddress address = unix ? UnixDomainSocketAddress.of(socketPath) : server.getLocalAddress();
        final SocketChannel socket = unix ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        socket.connect(address);
        if (!unix)
        {
            socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
        final ByteBuffer request = ByteBuffer.allocateDirect(requestSize);
        final ByteBuffer reply = ByteBuffer.allocateDirect(replySize);
        return new Load.Op()
        {
            @Override
            public void run(final long i) throws IOException
            {
                request.clear();
                while (request.hasRemaining())
                {
                    socket.write(request);
                }
                reply.clear();
                readFully(socket, reply);
            }

            @Override
            public void close() throws IOException
            {
                socket.close();
            }
        };
    }

    private void closeQuietly()
    {
        try
        {
            close();
        }
        catch (final IOException ignored)
        {
            // best effort at exit
        }
    }

    @Override
    public void close() throws IOException
    {
        closed = true;
        server.close();
        if (socketPath != null)
        {
            Files.deleteIfExists(socketPath);
        }
    }
}
