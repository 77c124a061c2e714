package io.ds4j.benchmarks;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The ceiling of a cross-node get: a plain Java socket pair over TCP loopback moving a value exactly the way the
 * worker-to-worker link does, with nothing else. Each call sends a small request; the serving side answers with a
 * small header and then the value's bytes with {@link FileChannel#transferTo} (sendfile) from a {@code /dev/shm}
 * file, in chunks of {@link #CHUNK} (the worker's {@code PeerService.SEND_CHUNK}); the calling side reads the header
 * and then the bytes straight into a mapped region of another {@code /dev/shm} file (what
 * {@code PeerConnection.receiveBulk} does into the receiver's pool). Optionally the caller then copies the region into
 * a reused off-heap segment: the extra work a {@code kv.get(key, target)} client does after the transfer.
 * TCP_NODELAY on both ends and default buffer sizes, as the worker's sockets.
 * <p>
 * With {@code spinningSender} the serving side sends the way {@code PeerService.fetch} does today, on a socket in
 * non-blocking mode (the JDK puts a socket in that mode for good once a virtual thread writes to it): there
 * {@code transferTo} returns 0 whenever the socket's send buffer is full, instead of waiting, and the loop calls it
 * again at once. That variant is a diagnostic reference, not a ceiling.
 */
final class SendfileLink implements AutoCloseable
{
    /** The worker's PeerService.SEND_CHUNK. */
    static final long CHUNK = 4L << 20;
    /** About a FETCH request (key, version) and a FETCH reply header. */
    private static final int REQUEST = 48;
    private static final int HEADER = 40;

    private final ServerSocketChannel server;
    private final Path source;
    private final FileChannel sourceChannel;
    private final long size;
    private final boolean spinningSender;
    private volatile boolean closed;

    /** A link serving {@code value} from a fresh /dev/shm file. */
    SendfileLink(final byte[] value, final boolean spinningSender) throws IOException
    {
        this.size = value.length;
        this.spinningSender = spinningSender;
        source = Files.createTempFile(Path.of("/dev/shm"), "dsbench-sendfile-src-", "");
        Files.write(source, value);
        sourceChannel = FileChannel.open(source, StandardOpenOption.READ);
        server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Children.register(this::closeQuietly);
        Thread.ofPlatform().daemon().name("dsbench-sendfile-accept").start(this::acceptLoop);
    }

    private void acceptLoop()
    {
        while (!closed)
        {
            try
            {
                final SocketChannel socket = server.accept();
                socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
                Thread.ofPlatform().daemon().name("dsbench-sendfile").start(() -> serve(socket));
            }
            catch (final IOException e)
            {
                return;
            }
        }
    }

    private void serve(final SocketChannel socket)
    {
        final ByteBuffer request = ByteBuffer.allocateDirect(REQUEST);
        final ByteBuffer header = ByteBuffer.allocateDirect(HEADER);
        try (socket)
        {
            while (!closed)
            {
                request.clear();
                readFully(socket, request);
                if (spinningSender)
                {
                    socket.configureBlocking(false);
                }
                header.clear();
                while (header.hasRemaining())
                {
                    socket.write(header);
                }
                long sent = 0;
                while (sent < size)
                {
                    // FramedChannel.sendFileRange's loop: a 0 (EAGAIN on a non-blocking socket) is simply retried
                    final long n = sourceChannel.transferTo(sent, Math.min(CHUNK, size - sent), socket);
                    if (n <= 0 && !socket.isOpen())
                    {
                        throw new EOFException();
                    }
                    sent += n;
                }
                if (spinningSender)
                {
                    socket.configureBlocking(true);
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

    /**
     * A calling connection with its own receiving region (a mapped /dev/shm file, pre-touched); each {@code run} is one
     * transfer of the whole value, then, with {@code copyOut}, a copy of it into a reused off-heap segment.
     */
    Load.Op client(final boolean copyOut) throws IOException
    {
        final SocketChannel socket = SocketChannel.open();
        socket.connect(server.getLocalAddress());
        socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
        final Path file = Files.createTempFile(Path.of("/dev/shm"), "dsbench-sendfile-dst-", "");
        final FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        final Arena arena = Arena.ofShared();
        final MemorySegment region = channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
        region.fill((byte) 0);
        final ByteBuffer bytes = region.asByteBuffer();
        final MemorySegment target = copyOut ? arena.allocate(size, 64).fill((byte) 0) : null;
        final ByteBuffer request = ByteBuffer.allocateDirect(REQUEST);
        final ByteBuffer header = ByteBuffer.allocateDirect(HEADER);
        return new Load.Op()
        {
            private volatile byte sink;

            @Override
            public void run(final long i) throws IOException
            {
                request.clear();
                while (request.hasRemaining())
                {
                    socket.write(request);
                }
                header.clear();
                readFully(socket, header);
                bytes.clear();
                readFully(socket, bytes);
                if (target != null)
                {
                    MemorySegment.copy(region, 0, target, 0, size);
                    sink = target.get(ValueLayout.JAVA_BYTE, size - 1);
                }
                else
                {
                    sink = region.get(ValueLayout.JAVA_BYTE, size - 1);
                }
            }

            @Override
            public void close() throws IOException
            {
                try
                {
                    socket.close();
                    arena.close();
                    channel.close();
                }
                finally
                {
                    Files.deleteIfExists(file);
                }
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
        try
        {
            server.close();
            sourceChannel.close();
        }
        finally
        {
            Files.deleteIfExists(source);
        }
    }
}
