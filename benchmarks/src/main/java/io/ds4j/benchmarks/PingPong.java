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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The ceiling of any unbatched request-response protocol on this machine: a bare echo over a blocking socket (Unix
 * domain or TCP loopback), a fixed-size request answered by a fixed-size reply, one thread per connection on the
 * server side, as the worker does. Nothing is parsed and nothing stored, so ds4j and redis can at best reach it.
 * <p>
 * {@link #peerShaped} makes the same echo with the worker-to-worker link's threading, as a diagnostic, on either end
 * or both: the serving thread reads a request and starts a virtual thread that writes the reply under a lock
 * ({@code PeerService.serve}; the JDK then keeps the socket non-blocking, so the serving thread's next read polls);
 * the calling thread writes its request and waits on a future that a reader thread of the connection completes when
 * the reply arrives ({@code PeerConnection.call} and {@code readLoop}).
 */
final class PingPong implements AutoCloseable
{
    private final ServerSocketChannel server;
    private final boolean unix;
    private final Path socketPath;
    private final int requestSize;
    private final int replySize;
    private final boolean virtualReplies;
    private final boolean readerThread;
    private volatile boolean closed;

    PingPong(final boolean unix, final int requestSize, final int replySize) throws IOException
    {
        this(unix, requestSize, replySize, false, false);
    }

    /**
     * A TCP loopback echo with the peer link's threading (see the class comment): replies written by a virtual thread
     * per request, and/or callers waiting on a future completed by the connection's reader thread.
     */
    static PingPong peerShaped(final int requestSize, final int replySize, final boolean virtualReplies,
        final boolean readerThread) throws IOException
    {
        return new PingPong(false, requestSize, replySize, virtualReplies, readerThread);
    }

    private PingPong(final boolean unix, final int requestSize, final int replySize, final boolean virtualReplies,
        final boolean readerThread) throws IOException
    {
        this.unix = unix;
        this.virtualReplies = virtualReplies;
        this.readerThread = readerThread;
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
        final ReentrantLock writeLock = new ReentrantLock();
        try (socket)
        {
            while (!closed)
            {
                in.clear();
                readFully(socket, in);
                if (virtualReplies)
                {
                    Thread.ofVirtual().name("dsbench-echo-reply").start(() -> reply(socket, out, writeLock));
                    continue;
                }
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

    /** A reply written by a request's own virtual thread, as PeerService.answer does. */
    private static void reply(final SocketChannel socket, final ByteBuffer out, final ReentrantLock writeLock)
    {
        writeLock.lock();
        try
        {
            final ByteBuffer mine = out.duplicate().clear();
            while (mine.hasRemaining())
            {
                socket.write(mine);
            }
        }
        catch (final IOException e)
        {
            // the client closed its end
        }
        finally
        {
            writeLock.unlock();
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
        if (readerThread)
        {
            return peerClient(socket, request, reply);
        }
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

    /** The caller writes and waits on a future; the connection's reader thread completes it (PeerConnection). */
    private static Load.Op peerClient(final SocketChannel socket, final ByteBuffer request, final ByteBuffer reply)
    {
        final AtomicReference<CompletableFuture<Void>> pending = new AtomicReference<>();
        Thread.ofPlatform().daemon().name("dsbench-echo-reader").start(() ->
        {
            try
            {
                while (true)
                {
                    reply.clear();
                    readFully(socket, reply);
                    final CompletableFuture<Void> waiting = pending.getAndSet(null);
                    if (waiting != null)
                    {
                        waiting.complete(null);
                    }
                }
            }
            catch (final IOException e)
            {
                final CompletableFuture<Void> waiting = pending.getAndSet(null);
                if (waiting != null)
                {
                    waiting.completeExceptionally(e);
                }
            }
        });
        return new Load.Op()
        {
            @Override
            public void run(final long i) throws Exception
            {
                final CompletableFuture<Void> answer = new CompletableFuture<>();
                pending.set(answer);
                request.clear();
                while (request.hasRemaining())
                {
                    socket.write(request);
                }
                answer.get(30, TimeUnit.SECONDS);
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
