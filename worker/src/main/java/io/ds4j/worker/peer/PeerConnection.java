package io.ds4j.worker.peer;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.FrameHeader;
import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.common.protocol.StatusCodec;
import io.ds4j.common.protocol.peer.FetchCodec;
import io.ds4j.common.protocol.peer.OwnerFetchCodec;
import io.ds4j.common.protocol.peer.PeerHelloCodec;
import io.ds4j.common.protocol.peer.PeerMessageType;
import io.ds4j.worker.config.HostPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One connection to another worker, with requests pipelined: callers write their request under a lock and wait on
 * a future; one reader thread completes the futures by correlation id, in whatever order the peer answers. A FETCH
 * reply (and an OWNER_FETCH reply that found the bytes at the owner) is followed by the value's raw bytes, which the reader streams into the region its caller's {@link BulkSink}
 * gives. When the connection breaks (the peer died, or sent garbage), every caller waiting on it fails with
 * RPC_UNAVAILABLE and a half-received region is freed by its sink.
 */
final class PeerConnection implements Closeable
{
    private static final Logger LOG = LoggerFactory.getLogger(PeerConnection.class);
    private static final int MAX_FRAME = 16 << 20;

    /** Where the bytes that follow a FETCH reply go. */
    interface BulkSink
    {
        /** The region to read {@code reply.size()} bytes into. */
        ByteBuffer target(FetchCodec.Reply reply);

        /** All bytes arrived. */
        void received();

        /** The transfer broke off: the region is freed. */
        void abort();
    }

    private record Pending(CompletableFuture<Object> future, Function<BodyReader, Object> decoder, BulkSink sink)
    {
    }

    private final String peer;
    private final FramedChannel channel;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final ConcurrentHashMap<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final long maxValueBytes;
    private volatile boolean broken;

    private PeerConnection(final String peer, final FramedChannel channel, final long maxValueBytes)
    {
        this.peer = peer;
        this.channel = channel;
        this.maxValueBytes = maxValueBytes;
    }

    /** Connects and says PEER_HELLO, within {@code timeoutMs}. */
    static PeerConnection open(final String self, final String peer, final long maxValueBytes, final long timeoutMs)
    {
        final HostPort address = HostPort.parse(peer);
        SocketChannel socket = null;
        try
        {
            socket = SocketChannel.open();
            socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
            socket.socket().connect(new InetSocketAddress(address.host(), address.port()), (int) timeoutMs);
            socket.socket().setSoTimeout((int) timeoutMs);
            final FramedChannel channel = new FramedChannel(socket, MAX_FRAME);
            PeerHelloCodec.writeRequest(channel.writer().begin(PeerMessageType.PEER_HELLO, (short) 0, 0), self);
            channel.send();
            final SocketChannel connected = socket;
            final BodyReader reply = withTimeout(connected, timeoutMs, channel::receive);
            StatusCodec.readStatus(reply);
            final String answered = PeerHelloCodec.readReply(reply);
            if (!answered.equals(peer))
            {
                throw new DsException(StatusCode.RPC_UNAVAILABLE, peer + " answers as worker " + answered);
            }
            final PeerConnection connection = new PeerConnection(peer, channel, maxValueBytes);
            Thread.ofPlatform().daemon().name("ds4j-peer-" + peer).start(connection::readLoop);
            return connection;
        }
        catch (final IOException e)
        {
            closeQuietly(socket);
            throw new DsException(StatusCode.RPC_UNAVAILABLE, "worker " + peer + " cannot be reached: " + e);
        }
        catch (final RuntimeException e)
        {
            closeQuietly(socket);
            throw e;
        }
    }

    @FunctionalInterface
    private interface Io<T>
    {
        T run() throws IOException;
    }

    /** A blocking NIO read has no timeout of its own: a watchdog closes the socket if the answer does not come. */
    private static <T> T withTimeout(final SocketChannel socket, final long timeoutMs, final Io<T> io)
        throws IOException
    {
        final Thread watchdog = Thread.ofVirtual().start(() ->
        {
            try
            {
                Thread.sleep(timeoutMs);
                closeQuietly(socket);
            }
            catch (final InterruptedException e)
            {
                // answered in time
            }
        });
        try
        {
            return io.run();
        }
        finally
        {
            watchdog.interrupt();
        }
    }

    private static void closeQuietly(final SocketChannel socket)
    {
        if (socket != null)
        {
            try
            {
                socket.close();
            }
            catch (final IOException ignored)
            {
                // nothing more to free
            }
        }
    }

    boolean broken()
    {
        return broken;
    }

    /**
     * Sends a request and waits for its reply.
     *
     * @throws DsException the peer's status, RPC_UNAVAILABLE when the connection broke, RPC_DEADLINE_EXCEEDED when
     *                     no answer came within {@code timeoutMs}
     */
    @SuppressWarnings("unchecked")
    <T> T call(final short type, final Consumer<BodyWriter> body, final Function<BodyReader, T> decoder,
        final long timeoutMs, final BulkSink sink)
    {
        if (broken)
        {
            throw unavailable("the connection broke");
        }
        final long id = ids.incrementAndGet();
        final Pending request = new Pending(new CompletableFuture<>(), (Function<BodyReader, Object>) decoder, sink);
        pending.put(id, request);
        writeLock.lock();
        try
        {
            final BodyWriter out = channel.writer().begin(type, (short) 0, id);
            body.accept(out);
            channel.send();
        }
        catch (final IOException | RuntimeException e)
        {
            pending.remove(id);
            fail("sending " + PeerMessageType.name(type) + " failed: " + e);
            throw e instanceof DsException ds ? ds : unavailable("sending failed: " + e);
        }
        finally
        {
            writeLock.unlock();
        }
        try
        {
            return (T) request.future.get(timeoutMs, TimeUnit.MILLISECONDS);
        }
        catch (final TimeoutException e)
        {
            if (pending.remove(id) == null || sink != null)
            {
                // the reader is streaming this fetch's bytes (or just finished): only closing stops it safely
                fail(PeerMessageType.name(type) + " got no complete answer within " + timeoutMs + " ms");
            }
            throw new DsException(StatusCode.RPC_DEADLINE_EXCEEDED, "worker " + peer + " did not answer "
                + PeerMessageType.name(type) + " within " + timeoutMs + " ms");
        }
        catch (final ExecutionException e)
        {
            throw e.getCause() instanceof DsException ds ? ds : unavailable(e.getCause().toString());
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            pending.remove(id);
            throw new DsException(StatusCode.INTERRUPTED, "interrupted waiting for " + peer);
        }
    }

    private DsException unavailable(final String why)
    {
        return new DsException(StatusCode.RPC_UNAVAILABLE, "worker " + peer + " is unavailable (" + why
            + "); retry, or check that the worker is running");
    }

    private void readLoop()
    {
        try
        {
            channel.socket().socket().setSoTimeout(0);
            while (!broken)
            {
                final BodyReader reply = channel.receive();
                if ((reply.flags() & FrameHeader.FLAG_RESPONSE) == 0)
                {
                    throw new IOException("peer sent a request (" + PeerMessageType.name(reply.type())
                        + ") on a connection it answers on");
                }
                complete(reply, pending.remove(reply.correlationId()));
                channel.shrinkIfLarge();
            }
        }
        catch (final IOException | RuntimeException e)
        {
            fail(e.toString());
        }
    }

    private void complete(final BodyReader reply, final Pending request) throws IOException
    {
        final int status = reply.getInt();
        if (status != StatusCodec.OK)
        {
            final String message = reply.getString();
            if (request != null)
            {
                request.future.completeExceptionally(new DsException(StatusCode.of(status), message));
            }
            return;
        }
        if (reply.type() == PeerMessageType.FETCH)
        {
            final FetchCodec.Reply header = FetchCodec.readReply(reply, maxValueBytes);
            if (header.found())
            {
                receiveBulk(header, request, reply.correlationId());
            }
            if (request != null)
            {
                request.future.complete(header);
            }
            return;
        }
        if (reply.type() == PeerMessageType.OWNER_FETCH)
        {
            final OwnerFetchCodec.Reply answer = OwnerFetchCodec.readReply(reply, maxValueBytes);
            if (answer.bulk().found())
            {
                receiveBulk(answer.bulk(), request, reply.correlationId());
            }
            if (request != null)
            {
                request.future.complete(answer);
            }
            return;
        }
        if (request != null)
        {
            try
            {
                request.future.complete(request.decoder.apply(reply));
            }
            catch (final RuntimeException e)
            {
                request.future.completeExceptionally(e);
                throw e;
            }
        }
    }

    /** Reads the value after a FETCH reply into the caller's region, or past it when the caller gave up. */
    private void receiveBulk(final FetchCodec.Reply header, final Pending request, final long correlationId)
        throws IOException
    {
        final BulkSink sink = request == null ? null : request.sink;
        ByteBuffer target = null;
        try
        {
            target = sink == null ? null : sink.target(header);
        }
        catch (final RuntimeException e)
        {
            request.future.completeExceptionally(e); // no room here: the bytes are read and dropped below
        }
        try
        {
            if (target != null)
            {
                channel.receiveRaw(target);
                sink.received();
                if (!header.copied())
                {
                    acknowledge(correlationId);
                }
                return;
            }
            final ByteBuffer scratch = ByteBuffer.allocateDirect((int) Math.min(header.size(), 1 << 20));
            long left = header.size();
            while (left > 0)
            {
                scratch.clear().limit((int) Math.min(scratch.capacity(), left));
                channel.receiveRaw(scratch);
                left -= scratch.limit();
            }
            if (!header.copied())
            {
                acknowledge(correlationId);
            }
        }
        catch (final IOException | RuntimeException e)
        {
            if (target != null)
            {
                sink.abort();
            }
            // the request left the pending map when its reply arrived, so failing the link no longer reaches it:
            // without this its caller waited for the whole fetch timeout (ClusterPeerFaultTest)
            if (request != null)
            {
                request.future.completeExceptionally(unavailable("the transfer broke off: " + e));
            }
            throw e;
        }
    }

    /** Tells the primary that every byte of a fetch arrived, so it can let the value go (FETCH_RECEIVED). */
    private void acknowledge(final long correlationId) throws IOException
    {
        writeLock.lock();
        try
        {
            channel.writer().begin(PeerMessageType.FETCH_RECEIVED, FrameHeader.FLAG_NO_REPLY, correlationId);
            channel.send();
        }
        finally
        {
            writeLock.unlock();
        }
    }

    /** Breaks the connection: every waiting caller fails, now. */
    private void fail(final String why)
    {
        if (!broken)
        {
            broken = true;
            LOG.info("peer link to {} closed: {}", peer, why);
        }
        channel.close();
        for (final Long id : pending.keySet())
        {
            final Pending request = pending.remove(id);
            if (request != null)
            {
                request.future.completeExceptionally(unavailable(why));
            }
        }
    }

    @Override
    public void close()
    {
        fail("closed");
    }
}
